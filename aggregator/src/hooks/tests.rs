//! The hook runner: placeholders, order, fencing, outcomes; phase hooks,
//! their per-deployment overrides and their delay.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::engine::ActionOrder;
use greenlight_proto::v1::{Action, Color, Phase};

fn action(action: Action, epoch: u64) -> HookOrder {
    let order = ActionOrder {
        deployment: "escashop".into(),
        action,
        epoch,
        from: Color::Green,
        to: Color::Blue,
        cause: "error_ratio".into(),
    };
    HookOrder::switch(&order, "{}".into()).unwrap()
}

fn entered(deployment: &str, from_phase: Phase, phase: Phase, epoch: u64) -> PhaseEntry {
    PhaseEntry {
        deployment: deployment.into(),
        epoch,
        from_phase,
        phase,
        from: Color::Blue,
        to: Color::Green,
        candidate: Color::Green,
        cause: "bake passed".into(),
    }
}

/// A command that appends its argv and the phase environment to `log`.
fn recorder(log: &Path, words: &str) -> HookCommand {
    let script = format!(
        "echo \"$0 {words} env=$GREENLIGHT_DEPLOYMENT/$GREENLIGHT_ACTION/$GREENLIGHT_PHASE/$GREENLIGHT_FROM_PHASE/$GREENLIGHT_EPOCH\" >> {}",
        log.display()
    );
    HookCommand {
        argv: vec!["sh".into(), "-c".into(), script, "{action}".into()],
        timeout: Duration::from_secs(10),
        retries: 0,
        backoff: Duration::from_millis(10),
        delay: Duration::ZERO,
    }
}

fn temp_log(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(name);
    (dir, log)
}

fn runner(settings: HookSettings) -> (HookRunner, mpsc::Receiver<HookEvent>) {
    let (events, outcomes) = mpsc::channel(64);
    let runner = HookRunner::new(
        settings,
        std::sync::Arc::new(crate::lead::Leadership::alone()),
        events,
        TaskTracker::new(),
        CancellationToken::new(),
    );
    (runner, outcomes)
}

/// Waits until `log` has `lines` lines, then a little longer for any that
/// should not be there.
async fn lines(log: &Path, lines: usize) -> Vec<String> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().count() >= lines {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

#[test]
fn placeholders_become_the_decisions_values_and_nothing_else() {
    let argv: Vec<String> = [
        "deploy/switch-traffic",
        "{direction}",
        "--epoch={epoch}",
        "$(rm -rf /)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let expanded = action(Action::Rollback, 7).expand(&argv);
    assert_eq!(
        expanded,
        [
            "deploy/switch-traffic",
            "green-to-blue",
            "--epoch=7",
            "$(rm -rf /)"
        ]
    );
}

#[test]
fn a_phase_hook_is_told_the_phase_entered_and_left() {
    let entry = entered("escashop", Phase::Baking, Phase::Verified, 9);
    let order = HookOrder::phase(&entry, "{}".into()).unwrap();
    let argv: Vec<String> = [
        "retire",
        "{from}",
        "{action}",
        "{from_phase}-{phase}",
        "{to}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        order.expand(&argv),
        ["retire", "blue", "verified", "Baking-Verified", "green"]
    );
    let env = order.environment();
    for (key, value) in [
        ("GREENLIGHT_ACTION", "verified"),
        ("GREENLIGHT_PHASE", "Verified"),
        ("GREENLIGHT_FROM_PHASE", "Baking"),
        ("GREENLIGHT_EPOCH", "9"),
        ("GREENLIGHT_DIRECTION", "blue-to-green"),
    ] {
        assert!(
            env.contains(&(key.to_string(), value.to_string())),
            "{key}={value} in {env:?}"
        );
    }
    // Phases without a hook make no order.
    let testing = entered("escashop", Phase::Deploying, Phase::Testing, 3);
    assert!(HookOrder::phase(&testing, String::new()).is_none());
}

#[tokio::test]
async fn one_hook_at_a_time_each_epoch_once_and_stale_epochs_ignored() {
    let (_dir, log) = temp_log("runs.log");
    let script = format!(
        "echo start $GREENLIGHT_EPOCH >> {0}; sleep 0.2; echo end $GREENLIGHT_EPOCH >> {0}",
        log.display()
    );
    let command = HookCommand {
        argv: vec!["sh".into(), "-c".into(), script],
        timeout: Duration::from_secs(10),
        retries: 0,
        backoff: Duration::from_millis(10),
        delay: Duration::ZERO,
    };
    let settings = HookSettings {
        defaults: HookTable::from([
            (HookPoint::Cutover, command.clone()),
            (HookPoint::Rollback, command),
        ]),
        ..Default::default()
    };
    let (runner, mut outcomes) = runner(settings);
    for (kind, epoch) in [
        (Action::Cutover, 3),
        (Action::Rollback, 5),
        (Action::Rollback, 4),
    ] {
        assert_eq!(runner.submit(action(kind, epoch)), Submitted::Queued);
    }
    let text = lines(&log, 4).await.join("\n");
    assert_eq!(
        text, "start 3\nend 3\nstart 5\nend 5",
        "serial, in order, epoch 4 (stale) skipped"
    );
    // Each hook run reports back to the engine, in order.
    for epoch in [3, 5] {
        let finished = next_finished(&mut outcomes).await;
        assert_eq!(
            (finished.epoch, finished.outcome),
            (epoch, SwitchOutcome::Succeeded)
        );
    }
}

async fn next_finished(events: &mut mpsc::Receiver<HookEvent>) -> HookFinished {
    loop {
        match events.recv().await.expect("the runner is alive") {
            HookEvent::Finished(finished) => return finished,
            HookEvent::Attempt(_) | HookEvent::Gate(_) => {}
        }
    }
}

#[tokio::test]
async fn a_hook_that_fails_for_good_reports_why_and_a_missing_one_says_so() {
    let command = HookCommand {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "echo no socket >&2; exit 4".into(),
        ],
        timeout: Duration::from_secs(10),
        retries: 1,
        backoff: Duration::from_millis(10),
        delay: Duration::ZERO,
    };
    let settings = HookSettings {
        defaults: HookTable::from([(HookPoint::Cutover, command)]),
        ..Default::default()
    };
    let (runner, mut outcomes) = runner(settings);
    assert_eq!(
        runner.submit(action(Action::Rollback, 2)),
        Submitted::NoHook
    );
    assert_eq!(runner.submit(action(Action::Cutover, 3)), Submitted::Queued);
    let finished = next_finished(&mut outcomes).await;
    let SwitchOutcome::Failed(detail) = finished.outcome else {
        panic!("{:?}", finished.outcome);
    };
    assert!(detail.contains("exit 4 after 2 attempt(s)"), "{detail}");
    assert!(detail.contains("no socket"), "{detail}");
}

#[tokio::test]
async fn a_deployments_own_hook_replaces_the_default_and_others_keep_it() {
    let (_dir, log) = temp_log("phases.log");
    let settings = HookSettings {
        defaults: HookTable::from([(HookPoint::Verified, recorder(&log, "default"))]),
        deployments: [(
            "shop".to_string(),
            HookTable::from([(HookPoint::Verified, recorder(&log, "own"))]),
        )]
        .into(),
        ..Default::default()
    };
    let (runner, mut outcomes) = runner(settings);
    for name in ["escashop", "shop"] {
        let entry = entered(name, Phase::Baking, Phase::Verified, 10);
        assert_eq!(runner.phase_entered(&entry, String::new), Submitted::Queued);
    }
    let mut got = lines(&log, 2).await;
    got.sort();
    assert_eq!(
        got,
        [
            "verified default env=escashop/verified/Verified/Baking/10",
            "verified own env=shop/verified/Verified/Baking/10",
        ]
    );
    // Phases with no hook run nothing.
    let ready = entered("shop", Phase::Testing, Phase::Ready, 11);
    assert_eq!(runner.phase_entered(&ready, String::new), Submitted::NoHook);
    let finished = next_finished(&mut outcomes).await;
    assert_eq!(finished.point, HookPoint::Verified);
}

#[tokio::test]
async fn a_switch_and_the_phase_it_enters_share_an_epoch_and_both_run() {
    let (_dir, log) = temp_log("both.log");
    let settings = HookSettings {
        defaults: HookTable::from([
            (HookPoint::Cutover, recorder(&log, "switch")),
            (HookPoint::Baking, recorder(&log, "phase")),
        ]),
        ..Default::default()
    };
    let (runner, _outcomes) = runner(settings);
    assert_eq!(runner.submit(action(Action::Cutover, 4)), Submitted::Queued);
    let baking = entered("escashop", Phase::Ready, Phase::Baking, 4);
    assert_eq!(
        runner.phase_entered(&baking, String::new),
        Submitted::Queued
    );
    // The same entry said twice (a replayed step) runs once.
    runner.phase_entered(&baking, String::new);
    assert_eq!(
        lines(&log, 2).await,
        [
            "cutover switch env=escashop/cutover///4",
            "baking phase env=escashop/baking/Baking/Ready/4",
        ]
    );
}

#[tokio::test]
async fn a_delayed_phase_hook_runs_after_its_delay_unless_the_phase_is_left() {
    let (_dir, log) = temp_log("delayed.log");
    let mut retire = recorder(&log, "retire");
    // Long enough that a stalled test machine still cancels in time.
    retire.delay = Duration::from_secs(2);
    let settings = HookSettings {
        defaults: HookTable::from([(HookPoint::Verified, retire)]),
        ..Default::default()
    };
    let (runner, _outcomes) = runner(settings);
    // Verified, then a new deployment starts before the delay is over.
    let verified = entered("escashop", Phase::Baking, Phase::Verified, 20);
    assert_eq!(
        runner.phase_entered(&verified, String::new),
        Submitted::Queued
    );
    let deploying = entered("escashop", Phase::Verified, Phase::Deploying, 21);
    assert_eq!(
        runner.phase_entered(&deploying, String::new),
        Submitted::NoHook
    );
    // Past the delay: a hook not cancelled would have run by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        std::fs::read_to_string(&log).unwrap_or_default().is_empty(),
        "cancelled: the deployment left Verified before the delay was over"
    );
    // Verified again, left alone: it runs, once, after the delay.
    let started = tokio::time::Instant::now();
    let verified = entered("escashop", Phase::Baking, Phase::Verified, 30);
    runner.phase_entered(&verified, String::new);
    assert_eq!(
        lines(&log, 1).await,
        ["verified retire env=escashop/verified/Verified/Baking/30"]
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}
