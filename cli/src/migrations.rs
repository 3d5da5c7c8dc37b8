//! `greenlight migrations lint`: reads the files (a directory's `*.sql`,
//! in name order), has greenlight-migrations judge their SQL, prints what
//! it found, and maps the outcome onto the exit codes: 0 nothing
//! dangerous, 1 dangerous, 2 not judged (unreadable, unparseable, a broken
//! allow comment). docs/migrations.md has the rules.

use std::fs;
use std::path::{Path, PathBuf};

use greenlight_migrations::{Outcome, Summary};

use crate::exit::{self, Failure};
use crate::output;

pub fn lint(paths: &[PathBuf], json: bool) -> Result<(), Failure> {
    let mut reports = Vec::new();
    for file in files(paths)? {
        let sql = read(&file)?;
        reports.push(greenlight_migrations::lint(
            &file.display().to_string(),
            &sql,
        ));
    }
    if json {
        let document = greenlight_migrations::json(&reports);
        output::println(&serde_json::to_string_pretty(&document).unwrap_or_default())?;
    } else {
        output::print(&greenlight_migrations::text(&reports))?;
    }
    // The findings say it all on stdout; nothing more on stderr.
    match Summary::of(&reports).outcome() {
        Outcome::Clean => Ok(()),
        Outcome::Dangerous => Err(Failure::new(exit::DOES_NOT_HOLD, "").kind("dangerous")),
        Outcome::Broken => Err(Failure::new(exit::USAGE, "").kind("not_judged")),
    }
}

/// The files to lint: each file as given, each directory's `*.sql` files
/// sorted by name (the order migration tools apply them in).
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|error| unreadable(path, &error))?;
        if !metadata.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in fs::read_dir(path).map_err(|error| unreadable(path, &error))? {
            let file = entry.map_err(|error| unreadable(path, &error))?.path();
            let sql = file
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("sql"));
            if sql && file.is_file() {
                found.push(file);
            }
        }
        if found.is_empty() {
            return Err(Failure::new(
                exit::USAGE,
                format!("no *.sql files in {}", path.display()),
            ));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn read(file: &Path) -> Result<String, Failure> {
    let bytes = fs::read(file).map_err(|error| unreadable(file, &error))?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::new(
            exit::USAGE,
            format!("cannot read {}: it is not UTF-8 text", file.display()),
        )
    })
}

fn unreadable(path: &Path, error: &std::io::Error) -> Failure {
    Failure::new(
        exit::USAGE,
        format!("cannot read {}: {error}", path.display()),
    )
}
