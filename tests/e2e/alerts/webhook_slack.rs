use greenlight_testbed::eventually;
use serde_json::Value;

use super::receiver::Receiver;
use super::story;
use crate::bed::{Bed, DEPLOYMENT, SETTLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_slack_receive_the_rollback_with_its_reasons() {
    let receiver = Receiver::start().await;
    let bed = Bed::new();
    let sinks = format!(
        "[[alerts.sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{0}/webhook\"\n[[alerts.sink]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"{0}/slack\"\nevents = [\"rollback\", \"ready\"]\ndeployments = [\"{DEPLOYMENT}\"]\n",
        receiver.url
    );
    let _aggregator = story::aggregator(&bed, &sinks).await;
    let pair = bed.pair(None).await;
    story::roll_back(&bed, &pair).await;

    let rollback = eventually("the webhook's rollback", SETTLE, || async {
        receiver
            .bodies("/webhook")
            .into_iter()
            .find(|body| body["event"] == "rollback")
            .ok_or("not yet")
    })
    .await;
    println!("webhook: {rollback:#}");
    assert_eq!(rollback["source"], "greenlight");
    assert_eq!(rollback["state"], "firing");
    assert_eq!(rollback["deployment"], DEPLOYMENT);
    assert_eq!(rollback["color"], "blue", "traffic goes back to blue");
    assert_eq!(rollback["severity"], "critical");
    let summary = rollback["summary"].as_str().unwrap();
    assert!(summary.contains("ROLLBACK"), "{summary}");
    let details: Vec<&str> = rollback["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        details.iter().any(|line| line.contains("error")),
        "the reason is said: {details:?}"
    );
    assert!(
        rollback["key"]
            .as_str()
            .unwrap()
            .starts_with("escashop/rollback/")
    );
    assert!(rollback["epoch"].as_u64().unwrap() > 0);
    let webhook_events: Vec<String> = receiver
        .bodies("/webhook")
        .iter()
        .map(|b| b["event"].as_str().unwrap_or("").to_string())
        .collect();
    for kind in ["phase_changed", "ready", "cutover", "rollback"] {
        assert!(
            webhook_events.iter().any(|e| e == kind),
            "the webhook (all events) got {kind}: {webhook_events:?}"
        );
    }

    let slack = eventually("Slack's rollback", SETTLE, || async {
        receiver
            .bodies("/slack")
            .into_iter()
            .find(|body| {
                body["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("ROLLBACK"))
            })
            .ok_or("not yet")
    })
    .await;
    println!("slack: {slack:#}");
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.starts_with(":rotating_light: *escashop: ROLLBACK"),
        "{text}"
    );
    assert!(text.contains("[rollback firing]"), "{text}");
    assert!(text.contains("\n• "), "one line per reason: {text}");
    // Routing: Slack asked for rollback and ready only.
    for body in receiver.bodies("/slack") {
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains("[rollback ") || text.contains("[ready "),
            "Slack got only what it asked for: {text}"
        );
    }
}
