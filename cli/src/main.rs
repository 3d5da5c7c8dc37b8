//! `greenlight`: asks the aggregator about blue/green deployments. What
//! switch scripts, CI jobs and people run.
//!
//! # Layout
//! - `exit`: the exit codes (a contract) and error mapping.
//! - `target`: `--aggregator` checked (host:port, http://, https://), the
//!   TLS files and the bearer token.
//! - `client`: connecting with bounded waits.
//! - `commands`: status, verdict, watch.
//! - `control`: cutover, rollback, pause, resume.
//! - `history`: the whole audit trail, paged.
//! - `wait`: waiting for a condition, across aggregator restarts.
//! - `render`: verdicts for people and as JSON.

mod client;
mod commands;
mod control;
mod exit;
mod history;
mod render;
mod target;
mod transport_error;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Ask greenlight whether a blue/green deployment may cut over.
///
/// Exit codes (stable, for scripts):
///   0  the asked condition holds (e.g. the candidate is READY)
///   1  it does not (not ready, unknown deployment, wait timed out)
///   2  usage or configuration error (credentials too: none where the
///      aggregator wants them, an unknown token, or a role that may not)
///   3  the aggregator is unreachable or did not answer in time
///
/// Examples:
///   greenlight status
///   greenlight verdict escashop && ./deploy/switch-traffic blue-to-green
///   greenlight wait escashop --until ready --timeout 300s
///   greenlight verdict escashop --json | jq .reasons
///   greenlight cutover escashop            # refused (exit 1) unless READY
///   greenlight rollback escashop --reason 'wrong totals'
///   greenlight --aggregator https://agg.internal:7070 --ca ca.pem status
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
struct Cli {
    /// The aggregator: host:port or http://host:port (plaintext), or
    /// https://host:port (TLS). Anything else exits 2.
    #[arg(
        long,
        global = true,
        env = "GREENLIGHT_AGGREGATOR",
        default_value = "http://127.0.0.1:7070"
    )]
    aggregator: String,
    /// With https://: trust only the CA certificates in this PEM file
    /// (default: the system's roots).
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_CA")]
    ca: Option<PathBuf>,
    /// With https://: present this client certificate (PEM), for an
    /// aggregator that requires mutual TLS. Needs --key.
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_CERT")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, global = true, value_name = "PEM", env = "GREENLIGHT_KEY")]
    key: Option<PathBuf>,
    /// Send the token in this file (first line) as `authorization: Bearer`
    /// on every call; without it, the GREENLIGHT_TOKEN variable is sent if set.
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// How long to wait for the aggregator to connect and answer.
    #[arg(long = "rpc-timeout", global = true, default_value = "5s", value_parser = humantime::parse_duration)]
    rpc_timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every deployment the aggregator knows, one line each. Exit 0 if it answered.
    Status {
        /// Print JSON (a list of verdicts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The current verdict of one deployment, with its reasons.
    /// Exit 0 if READY, 1 otherwise.
    Verdict {
        deployment: String,
        #[arg(long)]
        json: bool,
    },
    /// Wait until a condition holds. Exit 0 when it does, 1 on timeout,
    /// 3 if the aggregator could not be reached at all.
    Wait {
        deployment: String,
        /// The condition to wait for.
        #[arg(long, value_enum, default_value = "ready")]
        until: Until,
        /// Give up after this long (e.g. 300s, 5m).
        #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[arg(long)]
        json: bool,
    },
    /// Print every new verdict of a deployment as it is decided (until Ctrl-C).
    Watch {
        deployment: String,
        /// One JSON document per line.
        #[arg(long)]
        json: bool,
    },
    /// Switch traffic to the candidate. Refused (exit 1, with the reasons)
    /// unless it is READY; --force overrides. Starts the bake window.
    Cutover {
        deployment: String,
        /// Cut over even though the candidate is not READY.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Switch traffic back to the old side. Always accepted.
    Rollback {
        deployment: String,
        /// Why, for the record (history stream, transitions).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Hold every automatic action (cutover, rollback) until resume.
    Pause {
        deployment: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Undo a pause.
    Resume {
        deployment: String,
        #[arg(long)]
        json: bool,
    },
    /// The deployment's audit trail, oldest first: every verdict, decided
    /// action, hook attempt, alert and gap in the Redis history stream
    /// (through the aggregator; it pages, so the whole stream can be read).
    /// Without Redis only the verdict's recent transitions exist, and those
    /// are shown. `greenlight history escashop --since 30m`,
    /// `--limit 20` for the newest 20, `--json` for scripts.
    History {
        deployment: String,
        /// Only entries since then: a duration back from now ("30m", "2h")
        /// or an RFC 3339 time ("2026-12-02T15:00:00Z").
        #[arg(long, value_parser = history::parse_since)]
        since: Option<history::Since>,
        /// Only the newest N entries (after --since, if given).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// A JSON array, oldest first: {id, at, kind, fields}; a verdict's
        /// JSON is nested under fields.verdict.
        #[arg(long)]
        json: bool,
    },
}

/// A condition `wait` can wait for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Until {
    /// The candidate is READY: cutover is allowed.
    Ready,
    /// The bake passed: the phase is Verified.
    Verified,
    /// The deployment was rolled back (decision ROLLBACK or phase RolledBack).
    RolledBack,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("greenlight: cannot start: {error}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let target = target::Target::new(target::Flags {
        aggregator: cli.aggregator,
        ca: cli.ca,
        cert: cli.cert,
        key: cli.key,
        token_file: cli.token_file,
        token_env: std::env::var(target::TOKEN_ENV).ok(),
    });
    let target = match target {
        Ok(target) => target,
        Err(failure) => {
            eprintln!("greenlight: {}", failure.message);
            return failure.exit_code();
        }
    };
    let outcome = runtime.block_on(async {
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
                commands::watch(address, timeout, &deployment, json).await
            }
            Command::Cutover {
                deployment,
                force,
                json,
            } => {
                control::control(
                    address,
                    timeout,
                    &deployment,
                    control::Call::Cutover { force },
                    json,
                )
                .await
            }
            Command::Rollback {
                deployment,
                reason,
                json,
            } => {
                control::control(
                    address,
                    timeout,
                    &deployment,
                    control::Call::Rollback { reason },
                    json,
                )
                .await
            }
            Command::Pause {
                deployment,
                reason,
                json,
            } => {
                control::control(
                    address,
                    timeout,
                    &deployment,
                    control::Call::Pause { reason },
                    json,
                )
                .await
            }
            Command::Resume { deployment, json } => {
                control::control(address, timeout, &deployment, control::Call::Resume, json).await
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
        }
    });
    match outcome {
        Ok(()) => ExitCode::from(exit::HOLDS),
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("greenlight: {}", failure.message);
            }
            failure.exit_code()
        }
    }
}
