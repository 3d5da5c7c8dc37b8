//! `greenlight`: asks the aggregator about blue/green deployments. What
//! switch scripts, CI jobs and people run.
//!
//! # Layout
//! - `args`: the command line, every argument with its help.
//! - `exit`: the exit codes (a contract), error mapping, `--json` errors.
//! - `output`: stdout without panics (a closed pipe exits 141), stderr notes.
//! - `target`: `--aggregator` checked (host:port, http://, https://), the
//!   TLS files and the bearer token.
//! - `client`: connecting with bounded waits.
//! - `commands`: status, verdict.
//! - `watch`: every new verdict, across aggregator restarts.
//! - `link`: saying when the aggregator was lost and regained; the retries.
//! - `control`: cutover, rollback, pause, resume, gate rerun; `operator`: who asks.
//! - `history`: the whole audit trail, paged.
//! - `wait`: waiting for a condition, across aggregator restarts;
//!   `progress`: what it shows meanwhile.
//! - `render`: verdicts for people (where traffic is: `greenlight_proto::sides`) and as JSON.
//! - `manual`: shell completions and the man page.
//! - `migrations`: `migrations lint`, reading the files for the
//!   greenlight-migrations crate and printing what it found.

mod args;
mod client;
mod commands;
mod control;
mod exit;
mod history;
mod link;
mod manual;
mod migrations;
mod operator;
mod output;
mod progress;
mod render;
mod target;
mod transport_error;
mod wait;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, GateCommand, MigrationsCommand};
use exit::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let json = cli.command.json();
    let outcome = run(cli);
    match outcome {
        Ok(()) => ExitCode::from(exit::HOLDS),
        Err(failure) => {
            if failure.code == exit::PIPE_CLOSED {
                return failure.exit_code();
            }
            if !failure.message.is_empty() {
                output::note(&failure.message);
            }
            // --json: stdout is JSON whatever happened, unless the answer
            // (a verdict that is not READY) is already there.
            if json && !output::wrote_stdout() {
                let _ = output::println(&failure.json().to_string());
            }
            failure.exit_code()
        }
    }
}

/// A command line clap refused (or --help, --version): as clap says it,
/// plus a JSON error object on stdout when --json was asked for.
fn usage_error(error: &clap::Error) -> ExitCode {
    let code = error.exit_code();
    let _ = error.print();
    if error.use_stderr() && std::env::args().any(|arg| arg == "--json") {
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let failure =
            Failure::new(exit::USAGE, format!("{message} (see greenlight --help)")).kind("usage");
        let _ = output::println(&failure.json().to_string());
    }
    ExitCode::from(u8::try_from(code).unwrap_or(exit::USAGE))
}

fn run(cli: Cli) -> Result<(), Failure> {
    // These need no aggregator, so no address either.
    match cli.command {
        Command::Completions { shell } => return manual::print_completions(shell),
        Command::Man => return manual::print_man(),
        Command::Migrations {
            command: MigrationsCommand::Lint { ref paths, json },
        } => return migrations::lint(paths, json),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::new(exit::USAGE, format!("cannot start: {error}")))?;
    let target = target::Target::new(target::Flags {
        aggregator: cli.aggregator,
        ca: cli.ca,
        cert: cli.cert,
        key: cli.key,
        token_file: cli.token_file,
        token_env: std::env::var(target::TOKEN_ENV).ok(),
    })?;
    let operator = || operator::operator(operator::Sources::of_this_process(cli.operator.clone()));
    runtime.block_on(async {
        let address = &target;
        let timeout = cli.rpc_timeout;
        match cli.command {
            Command::Status { json } => commands::status(address, timeout, json).await,
            Command::Verdict { deployment, json } => {
                commands::verdict(address, timeout, &deployment, json).await
            }
            Command::Wait {
                deployment,
                until,
                timeout: limit,
                json,
            } => wait::wait(address, timeout, &deployment, until, limit, json).await,
            Command::Watch { deployment, json } => {
                watch::watch(address, timeout, &deployment, json).await
            }
            Command::Cutover {
                deployment,
                force,
                json,
            } => {
                let call = control::Call::Cutover { force };
                control::control(address, timeout, &deployment, call, &operator(), json).await
            }
            Command::Rollback {
                deployment,
                reason,
                json,
            } => {
                let call = control::Call::Rollback { reason };
                control::control(address, timeout, &deployment, call, &operator(), json).await
            }
            Command::Pause {
                deployment,
                reason,
                json,
            } => {
                let call = control::Call::Pause { reason };
                control::control(address, timeout, &deployment, call, &operator(), json).await
            }
            Command::Resume { deployment, json } => {
                let call = control::Call::Resume;
                control::control(address, timeout, &deployment, call, &operator(), json).await
            }
            Command::History {
                deployment,
                since,
                limit,
                json,
            } => {
                let query = history::Query {
                    since,
                    limit: limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                    json,
                };
                history::history(address, timeout, &deployment, query).await
            }
            Command::Gate {
                command:
                    GateCommand::Rerun {
                        deployment,
                        gate,
                        json,
                    },
            } => {
                let call = control::Call::RerunGate { gate };
                control::control(address, timeout, &deployment, call, &operator(), json).await
            }
            Command::Completions { .. } | Command::Man | Command::Migrations { .. } => Ok(()),
        }
    })
}
