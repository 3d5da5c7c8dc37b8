//! Issue 13, test gates, with real processes: a failing integration gate
//! keeps green NOT_READY with its output and exit in the reason, and
//! after `greenlight gate rerun` passes it is READY; a gate that hangs is
//! killed at its timeout (its process is gone) and reported; a failing
//! smoke test after cutover rolls back through the rollback hook.

use std::path::Path;
use std::time::Duration;

use greenlight_proto::v1::{Decision, Phase};
use greenlight_testbed::eventually;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, entered};

const RULES: &str =
    "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\nbake_for = \"30s\"\n";

/// A script at `path` (made executable).
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn gate_reason(verdict: &greenlight_proto::v1::Verdict) -> Option<String> {
    verdict
        .reasons
        .iter()
        .find(|r| r.rule == "gate_failed")
        .map(|r| r.message.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_integration_gate_keeps_not_ready_until_a_rerun_passes() {
    let bed = Bed::new();
    let verdict_file = bed.dir.path().join("tests-result");
    std::fs::write(&verdict_file, "fail").unwrap();
    let gate = bed.dir.path().join("integration.sh");
    script(
        &gate,
        &format!(
            "echo \"running against $GREENLIGHT_CANDIDATE ($1)\"\nif [ \"$(cat {})\" = pass ]; then echo 'all 12 tests passed'; exit 0; fi\necho '3 tests failed'\nexit 1",
            verdict_file.display()
        ),
    );
    let config = format!(
        "{RULES}[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n\
         [[deployments.{DEPLOYMENT}.gates]]\nname = \"integration\"\nstage = \"before_cutover\"\ncommand = [\"{}\", \"{{candidate}}\"]\ntimeout = \"30s\"\n",
        gate.display()
    );
    let _aggregator = bed.aggregator_with(None, &config).await;
    let _pair = bed.pair(None).await;

    let failed = bed
        .verdict_where("the gate failed", SETTLE, |v| gate_reason(v).is_some())
        .await;
    assert_eq!(failed.decision(), Decision::NotReady);
    let reason = gate_reason(&failed).unwrap();
    assert!(reason.contains("3 tests failed"), "{reason}");
    assert!(reason.contains("exit 1"), "{reason}");
    assert!(reason.contains("running against green (green)"), "{reason}");
    // It runs once per candidate run: still failed, not run again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = bed.verdict_where("any", SETTLE, |_| true).await;
    assert_eq!(still.decision(), Decision::NotReady);
    assert!(gate_reason(&still).unwrap().contains("attempt 1"));
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 1, "not ready");
    assert!(stdout.contains("3 tests failed"), "{stdout}");

    std::fs::write(&verdict_file, "pass").unwrap();
    let (code, stdout, stderr) = bed.cli(&["gate", "rerun", DEPLOYMENT, "integration"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("running again"), "{stdout}");
    let ready = bed
        .verdict_where("READY after the rerun", SETTLE, |v| {
            v.decision() == Decision::Ready
        })
        .await;
    assert!(
        ready
            .reasons
            .iter()
            .any(|r| r.rule == "gate_passed" && r.message.contains("attempt 2")),
        "{:?}",
        ready.reasons
    );
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("gate integration (before cutover) passed"),
        "{stdout}"
    );

    let (code, _, stderr) = bed.cli(&["gate", "rerun", DEPLOYMENT, "nope"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("no gate named \"nope\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_gate_is_killed_at_its_timeout_and_reported() {
    let bed = Bed::new();
    let pid_file = bed.dir.path().join("gate.pid");
    let gate = bed.dir.path().join("hang.sh");
    script(
        &gate,
        &format!(
            "echo $$ > {}\necho 'checking the API'\nexec sleep 3600",
            pid_file.display()
        ),
    );
    let config = format!(
        "{RULES}[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n\
         [[deployments.{DEPLOYMENT}.gates]]\nname = \"api-compat\"\nstage = \"before_cutover\"\ncommand = [\"{}\"]\ntimeout = \"2s\"\n",
        gate.display()
    );
    let _aggregator = bed.aggregator_with(None, &config).await;
    let _pair = bed.pair(None).await;
    let killed = bed
        .verdict_where("the gate timed out", SETTLE, |v| gate_reason(v).is_some())
        .await;
    let reason = gate_reason(&killed).unwrap();
    assert!(
        reason.contains("still running at its 2 s timeout and was killed"),
        "{reason}"
    );
    assert!(reason.contains("checking the API"), "{reason}");
    assert_eq!(killed.decision(), Decision::NotReady);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    eventually(
        "the gate's process is gone",
        Duration::from_secs(5),
        || async {
            if Path::new(&format!("/proc/{pid}")).exists() {
                Err(format!("process {pid} is still there"))
            } else {
                Ok(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_smoke_test_after_cutover_rolls_back_through_the_rollback_hook() {
    let bed = Bed::new();
    let rolled = bed.dir.path().join("rolled-back");
    let smoke = bed.dir.path().join("smoke.sh");
    script(&smoke, "echo 'GET /api/queue: 500'\nexit 2");
    let config = format!(
        "{RULES}[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n\
         [deployments.{DEPLOYMENT}.hooks.cutover]\ncommand = [\"true\"]\n\
         [deployments.{DEPLOYMENT}.hooks.rollback]\ncommand = [\"touch\", \"{}\"]\n\
         [[deployments.{DEPLOYMENT}.gates]]\nname = \"smoke\"\nstage = \"after_cutover\"\ncommand = [\"{}\"]\ntimeout = \"30s\"\n",
        rolled.display(),
        smoke.display()
    );
    let _aggregator = bed.aggregator_with(None, &config).await;
    let _pair = bed.pair(None).await;
    // The smoke test fails at once: the bake may be over before a poll
    // sees it, so the cutover is asked for here and the end awaited.
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rolled_back = bed
        .verdict_where("rolled back", SETTLE, |v| v.phase() == Phase::RolledBack)
        .await;
    assert_eq!(rolled_back.decision(), Decision::Rollback);
    let cause = &entered(&rolled_back, Phase::RolledBack).cause;
    assert!(cause.contains("gate_failed"), "{cause}");
    assert!(cause.contains("GET /api/queue: 500"), "{cause}");
    assert!(cause.contains("exit 2"), "{cause}");
    assert!(rolled.exists(), "the rollback hook ran");
}
