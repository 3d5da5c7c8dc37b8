//! The hook runner: placeholders, order, fencing, outcomes.

use super::*;
use greenlight_proto::v1::Color;

fn order(action: Action, epoch: u64) -> ActionOrder {
    ActionOrder {
        deployment: "escashop".into(),
        action,
        epoch,
        from: Color::Green,
        to: Color::Blue,
        cause: "error_ratio".into(),
    }
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
    let expanded = expand(&argv, &order(Action::Rollback, 7));
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

#[tokio::test]
async fn one_hook_at_a_time_each_epoch_once_and_stale_epochs_ignored() {
    let dir = std::env::temp_dir().join(format!("greenlight-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("runs.log");
    let _ = std::fs::remove_file(&log);
    let script = format!(
        "echo start $GREENLIGHT_EPOCH >> {0}; sleep 0.2; echo end $GREENLIGHT_EPOCH >> {0}",
        log.display()
    );
    let command = HookCommand {
        argv: vec!["sh".into(), "-c".into(), script],
        timeout: Duration::from_secs(10),
        retries: 0,
        backoff: Duration::from_millis(10),
    };
    let settings = HookSettings {
        cutover: Some(command.clone()),
        rollback: Some(command),
    };
    let tasks = TaskTracker::new();
    let (events, mut outcomes) = mpsc::channel(8);
    let runner = HookRunner::new(settings, events, tasks.clone(), CancellationToken::new());
    for (action, epoch) in [
        (Action::Cutover, 3),
        (Action::Rollback, 5),
        (Action::Rollback, 4),
    ] {
        let submitted = runner.submit(HookOrder {
            order: order(action, epoch),
            verdict_json: "{}".into(),
        });
        assert_eq!(submitted, Submitted::Queued);
    }
    let expected = "start 3\nend 3\nstart 5\nend 5\n";
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Long enough for a wrongly queued epoch 4 to show up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(text, expected, "serial, in order, epoch 4 (stale) skipped");
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
            HookEvent::Attempt(_) => {}
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
    };
    let settings = HookSettings {
        cutover: Some(command),
        rollback: None,
    };
    let (events, mut outcomes) = mpsc::channel(8);
    let runner = HookRunner::new(
        settings,
        events,
        TaskTracker::new(),
        CancellationToken::new(),
    );
    let rollback = HookOrder {
        order: order(Action::Rollback, 2),
        verdict_json: "{}".into(),
    };
    assert_eq!(runner.submit(rollback), Submitted::NoHook);
    let cutover = HookOrder {
        order: order(Action::Cutover, 3),
        verdict_json: "{}".into(),
    };
    assert_eq!(runner.submit(cutover), Submitted::Queued);
    let finished = next_finished(&mut outcomes).await;
    let SwitchOutcome::Failed(detail) = finished.outcome else {
        panic!("{:?}", finished.outcome);
    };
    assert!(detail.contains("exit 4 after 2 attempt(s)"), "{detail}");
    assert!(detail.contains("no socket"), "{detail}");
}
