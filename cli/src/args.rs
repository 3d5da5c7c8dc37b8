//! The command line: every subcommand, flag and argument, each with a help
//! line that teaches (the man page and the completions are made from it).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::history;

/// Ask greenlight whether a blue/green deployment may cut over.
///
/// Exit codes (stable, for scripts):
///   0  the asked condition holds (e.g. the candidate is READY)
///   1  it does not (not ready, unknown deployment, wait timed out, a
///      control call refused)
///   2  usage or configuration error (credentials too: none where the
///      aggregator wants them, an unknown token, or a role that may not)
///   3  the aggregator is unreachable or did not answer in time
///   141 stdout was closed by its reader (`| head`), like any Unix tool
///
/// With --json, stdout is always JSON: the answer, or on failure one error
/// object {"error", "message", "reasons", "exit_code"} (docs/cli.md).
///
/// Examples:
///   greenlight status
///   greenlight verdict escashop && ./deploy/switch-traffic blue-to-green
///   greenlight wait escashop --until ready --timeout 300s
///   greenlight verdict escashop --json | jq .reasons
///   greenlight cutover escashop            # refused (exit 1) unless READY
///   greenlight rollback escashop --reason 'wrong totals' --operator alice
///   greenlight --aggregator https://agg.internal:7070 --ca ca.pem status
///   greenlight completions bash > /etc/bash_completion.d/greenlight
///   greenlight man | man -l -
///   greenlight migrations lint deploy/migrations/
///
/// TLS: an https:// address is TLS or an error, never plaintext. The
/// aggregator's certificate is checked against --ca, or the system's roots
/// without it; --cert and --key answer an aggregator that wants client
/// certificates. A token (--token-file, or the GREENLIGHT_TOKEN environment
/// variable) goes with every call as `authorization: Bearer <token>`.
/// With [auth] on the aggregator, a viewer's token reads (status, verdict,
/// wait, watch, history) and an operator's also steers (cutover, rollback,
/// pause, resume); the history names the token's holder as who asked.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version, verbatim_doc_comment)]
pub struct Cli {
    /// The aggregator: host:port or http://host:port (plaintext), or
    /// https://host:port (TLS). Anything else exits 2.
    /// Example: --aggregator https://agg.internal:7070
    #[arg(
        long,
        global = true,
        value_name = "ADDRESS",
        env = "GREENLIGHT_AGGREGATOR",
        default_value = "http://127.0.0.1:7070"
    )]
    pub aggregator: String,
    /// With https://: trust only the CA certificates in this PEM file
    /// (default: the system's roots).
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_CA")]
    pub ca: Option<PathBuf>,
    /// With https://: present this client certificate (PEM), for an
    /// aggregator that requires mutual TLS. Needs --key.
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_CERT")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_KEY")]
    pub key: Option<PathBuf>,
    /// Send the token in this file (first line) as `authorization: Bearer`
    /// on every call; without it, the GREENLIGHT_TOKEN variable is sent if set.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// How long to wait for the aggregator to connect and answer
    /// (e.g. 5s, 500ms); past it the call exits 3.
    #[arg(long = "rpc-timeout", global = true, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub rpc_timeout: Duration,
    /// Who you are, for the record of cutover, rollback, pause and resume
    /// (the history's "by"). Default: $USER, then $LOGNAME, then your
    /// login name from the system. Example: --operator alice
    #[arg(long, global = true, value_name = "NAME", env = "GREENLIGHT_OPERATOR")]
    pub operator: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every deployment the aggregator knows, one line each. Exit 0 if it answered.
    Status {
        /// Print JSON (a list of verdicts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The current verdict of one deployment, with its reasons.
    ///
    /// Exit 0 if READY, 1 otherwise, so it is a gate:
    /// `greenlight verdict escashop && ./deploy/switch-traffic blue-to-green`.
    Verdict {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Print the verdict as one JSON document (`| jq .reasons`).
        #[arg(long)]
        json: bool,
    },
    /// Wait until a condition holds, showing progress on stderr.
    ///
    /// Exit 0 when it does, 1 on timeout, 3 if the aggregator could not be
    /// reached at all; aggregator restarts meanwhile are waited out. On a
    /// terminal one line counts down ("green ready in 12s ... timeout in
    /// 4m48s"); into a pipe or file, one line per change of the verdict.
    /// Example: `greenlight wait escashop --until verified --timeout 10m`.
    Wait {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// The condition to wait for.
        #[arg(long, value_enum, default_value = "ready")]
        until: Until,
        /// Give up after this long (e.g. 300s, 5m).
        #[arg(long, value_name = "DURATION", default_value = "300s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Print the final verdict as JSON on stdout (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Print every new verdict of a deployment as it is decided, until Ctrl-C.
    ///
    /// An aggregator that restarts (or is not up yet) is waited for: stderr
    /// says when it was lost and when it is back.
    /// Example: `greenlight watch escashop --json | jq -c '{epoch, decision}'`.
    Watch {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// One JSON document per line.
        #[arg(long)]
        json: bool,
    },
    /// Switch traffic to the candidate (refused unless READY).
    ///
    /// Refused (exit 1, with the reasons) unless the candidate is READY;
    /// --force overrides. Starts the bake window.
    /// Example: `greenlight cutover escashop --operator alice`.
    Cutover {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Cut over even though the candidate is not READY.
        #[arg(long)]
        force: bool,
        /// Print the resulting verdict (or the refusal) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Switch traffic back to the old side. Always accepted.
    ///
    /// Example: `greenlight rollback escashop --reason 'wrong totals'`.
    Rollback {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Why, for the record (history stream, transitions).
        #[arg(long)]
        reason: String,
        /// Print the resulting verdict (or the refusal) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hold every automatic action (cutover, rollback) until resume.
    ///
    /// Example: `greenlight pause escashop --reason 'db migration'`.
    Pause {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Why, for the record and for whoever finds it paused.
        #[arg(long)]
        reason: String,
        /// Print the resulting verdict (or the refusal) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Undo a pause.
    Resume {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Print the resulting verdict (or the refusal) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The deployment's audit trail, oldest first.
    ///
    /// Every verdict, decided
    /// action, hook attempt, alert and gap in the Redis history stream
    /// (through the aggregator; it pages, so the whole stream can be read).
    /// Without Redis only the verdict's recent transitions exist, and those
    /// are shown. `greenlight history escashop --since 30m`,
    /// `--limit 20` for the newest 20, `--json` for scripts.
    History {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// Only entries since then: a duration back from now ("30m", "2h")
        /// or an RFC 3339 time ("2026-12-02T15:00:00Z").
        #[arg(long, value_name = "WHEN", value_parser = history::parse_since)]
        since: Option<history::Since>,
        /// Only the newest N entries (after --since, if given).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// A JSON array, oldest first: {id, at, kind, fields}; a verdict's
        /// JSON is nested under fields.verdict.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    ///
    /// Example: `greenlight completions bash >
    /// ~/.local/share/bash-completion/completions/greenlight`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff) on stdout.
    ///
    /// Example: `greenlight man | man -l -`.
    Man,
    /// Check database migrations before they run (no aggregator needed).
    Migrations {
        #[command(subcommand)]
        command: MigrationsCommand,
    },
    /// The deployment's test gates (docs/configuration.md, gates).
    Gate {
        #[command(subcommand)]
        command: GateCommand,
    },
}

/// What `greenlight gate` does.
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Run a test gate again for the current candidate run.
    ///
    /// A gate runs once per candidate run; this forgets its result, and it
    /// runs as soon as its stage allows (before cutover: once the candidate
    /// is otherwise READY; after: while traffic is on it). Example:
    /// `greenlight gate rerun escashop integration`.
    Rerun {
        /// The deployment, as its agents name it (e.g. escashop).
        deployment: String,
        /// The gate's name, as configured.
        gate: String,
        /// Print the resulting verdict (or the refusal) as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `greenlight migrations` does.
#[derive(Debug, Subcommand)]
pub enum MigrationsCommand {
    /// Lint PostgreSQL migrations: is each statement safe while both colors run?
    ///
    /// Each statement is judged by the rules in docs/migrations.md: safe,
    /// dangerous (a DROP, a RENAME, a type change, SET NOT NULL...), a
    /// warning for a locking hazard, or info. A dangerous statement passes
    /// only with `-- greenlight: allow <rule> because <reason>` on the line
    /// above it.
    ///
    /// Exit 0: nothing dangerous (warnings are printed, not failed); 1: a
    /// dangerous statement; 2: a path that cannot be read, SQL that does not
    /// parse, or a broken allow comment.
    /// Example: `greenlight migrations lint deploy/migrations/`.
    Lint {
        /// Migration files, or directories whose *.sql files are linted
        /// in name order (one level deep).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print one JSON document, {"findings": [...], "summary": {...}},
        /// safe statements included.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether the answer (or the failure) is to be JSON on stdout.
    pub fn json(&self) -> bool {
        match self {
            Command::Status { json }
            | Command::Verdict { json, .. }
            | Command::Wait { json, .. }
            | Command::Watch { json, .. }
            | Command::Cutover { json, .. }
            | Command::Rollback { json, .. }
            | Command::Pause { json, .. }
            | Command::Resume { json, .. }
            | Command::History { json, .. } => *json,
            Command::Migrations {
                command: MigrationsCommand::Lint { json, .. },
            } => *json,
            Command::Gate {
                command: GateCommand::Rerun { json, .. },
            } => *json,
            Command::Completions { .. } | Command::Man => false,
        }
    }
}

/// A condition `wait` can wait for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Until {
    /// The candidate is READY: cutover is allowed.
    Ready,
    /// The cutover is confirmed: the bake runs (phase Baking) or has passed
    /// (Verified). What a cutover script waits for before it says "done".
    Baking,
    /// The bake passed: the phase is Verified.
    Verified,
    /// The deployment was rolled back (decision ROLLBACK or phase RolledBack).
    RolledBack,
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash (bash-completion).
    Bash,
    /// zsh (put it in a directory of $fpath as _greenlight).
    Zsh,
    /// fish (~/.config/fish/completions/greenlight.fish).
    Fish,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every argument of every (sub)command says what it is for.
    #[test]
    fn every_argument_and_subcommand_has_help() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for argument in command.get_arguments() {
                let id = argument.get_id().as_str();
                // clap's own --help and --version have theirs.
                if id == "help" || id == "version" {
                    continue;
                }
                if argument.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the subcommand)", sub.get_name()));
                }
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut missing = Vec::new();
        check(&command, "greenlight", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
        // The value enums teach too.
        for value in Until::value_variants() {
            assert!(value.to_possible_value().unwrap().get_help().is_some());
        }
        for value in Shell::value_variants() {
            assert!(value.to_possible_value().unwrap().get_help().is_some());
        }
        Cli::command().debug_assert();
    }
}
