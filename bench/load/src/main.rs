//! `greenlight-bench`: parses the flags, runs the fleet (or the rollback
//! trials), prints the figures. Exit 0 when the run was measured (a missed
//! target is a figure, not a failure), 1 when it could not run, 2 on bad flags.

use std::process::ExitCode;

use clap::Parser;
use greenlight_bench::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("greenlight-bench: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(greenlight_bench::run(args)) {
        Ok(figures) if json => match serde_json::to_string_pretty(&figures) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("greenlight-bench: {error}");
                ExitCode::from(1)
            }
        },
        Ok(figures) => {
            print!("{}", figures.table());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("greenlight-bench: {error:#}");
            ExitCode::from(1)
        }
    }
}
