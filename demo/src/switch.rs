//! The demo's traffic switch. In production the aggregator's hooks run
//! deploy/switch-traffic against HAProxy or nginx; here they run this same
//! binary with `--switch-hook FILE`, which records where traffic goes (the
//! hook's GREENLIGHT_* environment) in FILE, and the story reads it back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_aggregator::hooks::{HookCommand, HookPoint, HookSettings};

/// The hooks the demo's aggregator runs: this binary, as argv.
pub fn hooks(record: &Path) -> anyhow::Result<HookSettings> {
    let program = std::env::current_exe()?.display().to_string();
    let command = HookCommand {
        argv: vec![
            program,
            "--switch-hook".into(),
            record.display().to_string(),
        ],
        timeout: Duration::from_secs(10),
        retries: 1,
        backoff: Duration::from_millis(200),
        delay: Duration::ZERO,
    };
    Ok(HookSettings {
        defaults: [
            (HookPoint::Cutover, command.clone()),
            (HookPoint::Rollback, command),
        ]
        .into(),
        ..Default::default()
    })
}

/// `--switch-hook FILE`: what a switch script would do, minus the load balancer.
pub fn run_hook(record: &PathBuf) -> anyhow::Result<()> {
    let get = |key: &str| std::env::var(key).unwrap_or_default();
    let line = format!(
        "{} {} {}\n",
        get("GREENLIGHT_TO"),
        get("GREENLIGHT_EPOCH"),
        get("GREENLIGHT_ACTION")
    );
    std::fs::write(record, line)?;
    Ok(())
}

/// Where the last hook sent traffic: (color, epoch, action).
pub fn last_switch(record: &Path) -> Option<(String, String, String)> {
    let text = std::fs::read_to_string(record).ok()?;
    let mut words = text.split_whitespace();
    Some((
        words.next()?.to_string(),
        words.next()?.to_string(),
        words.next()?.to_string(),
    ))
}

/// Waits (bounded) until a hook has switched traffic with `action`.
pub async fn wait_for_switch(record: &Path, action: &str) -> Option<(String, String, String)> {
    for _ in 0..100 {
        if let Some(switch) = last_switch(record).filter(|(_, _, a)| a == action) {
            return Some(switch);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
