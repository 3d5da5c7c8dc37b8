//! `greenlight completions <shell>` and `greenlight man`: made from the
//! same clap Command tree as --help, so they cannot disagree with it.

use clap::CommandFactory;

use crate::args::{Cli, Shell};
use crate::exit::{Failure, USAGE};
use crate::output::print;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut Cli::command(), "greenlight", &mut script);
    script
}

/// The manual page, roff: `greenlight man | man -l -`. One page: the
/// top-level help, then a section per subcommand with its options.
pub fn man_page() -> Result<Vec<u8>, std::io::Error> {
    let command = Cli::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        page.extend_from_slice(format!(".SH \"GREENLIGHT {}\"\n", name.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(format!("greenlight {name}"));
        let sub_man = clap_mangen::Man::new(sub);
        let mut text = Vec::new();
        sub_man.render_description_section(&mut text)?;
        sub_man.render_synopsis_section(&mut text)?;
        sub_man.render_options_section(&mut text)?;
        // Inside this section, its own parts are subsections.
        let text = String::from_utf8_lossy(&text).replace(".SH ", ".SS ");
        page.extend_from_slice(text.as_bytes());
    }
    man.render_version_section(&mut page)?;
    Ok(title_first(&String::from_utf8_lossy(&page)).into_bytes())
}

/// clap_mangen opens every section with the definition of the `Aq`
/// string (an apostrophe); once, right after `.TH`, is enough, and a page
/// then starts with its title as man pages do.
fn title_first(page: &str) -> String {
    const AQ: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let page = page.replace(AQ, "");
    match page.split_once('\n') {
        Some((title, rest)) => format!("{title}\n{AQ}{rest}"),
        None => page,
    }
}

pub fn print_completions(shell: Shell) -> Result<(), Failure> {
    print(&String::from_utf8_lossy(&completions(shell)))
}

pub fn print_man() -> Result<(), Failure> {
    let page = man_page()
        .map_err(|error| Failure::new(USAGE, format!("cannot render the man page: {error}")))?;
    print(&String::from_utf8_lossy(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_has_every_subcommand() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.starts_with(".TH"), "{}", &page[..40]);
        assert!(page.contains(".SH NAME"));
        for sub in Cli::command().get_subcommands() {
            let heading = format!(".SH \"GREENLIGHT {}\"", sub.get_name().to_uppercase());
            assert!(page.contains(&heading), "{heading}");
        }
        assert!(page.contains("rpc\\-timeout") || page.contains("rpc-timeout"));
    }

    #[test]
    fn completions_name_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completions(shell)).unwrap();
            for sub in ["cutover", "rollback", "history", "wait", "watch"] {
                assert!(script.contains(sub), "{shell:?} lacks {sub}");
            }
        }
    }
}
