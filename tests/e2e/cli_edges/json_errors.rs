//! With `--json`, stdout is JSON whatever happens: a refused cutover
//! prints one error object carrying the verdict's reasons, and an
//! aggregator nobody answers for prints one too (exit 3).

use greenlight_proto::v1::Decision;
use greenlight_testbed::free_port;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, set_switches};

/// The one JSON document on `stdout`, parsed.
fn one_object(what: &str, stdout: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(stdout).unwrap_or_else(|error| {
        panic!("{what}: stdout is not one JSON document ({error}): {stdout:?}")
    });
    assert!(value.is_object(), "{what}: {value}");
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_cutover_prints_its_reasons_as_json() {
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "1s").await;
    let pair = bed.pair(None).await;
    // What blocks: green's /health fails, and the verdict says so.
    set_switches(&pair.green, r#"{"health_failing": true}"#).await;
    bed.verdict_where("green's http check failing", SETTLE, |v| {
        v.decision() == Decision::NotReady
            && v.agents
                .iter()
                .any(|agent| agent.instance_id == "green-1" && !agent.failing_checks.is_empty())
    })
    .await;

    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT, "--json"]).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let error = one_object("cutover --json refused", &stdout);
    assert_eq!(error["error"], "refused", "{error}");
    assert_eq!(error["exit_code"], 1, "{error}");
    let message = error["message"].as_str().expect("a message");
    assert!(!message.is_empty(), "{error}");
    let reasons = error["reasons"].as_array().expect("reasons, a list");
    assert!(!reasons.is_empty(), "the reasons that refused it: {error}");
    assert!(
        reasons.iter().any(|reason| reason["color"] == "green"
            && reason["agent"] == "green-1"
            && reason["check"]
                .as_str()
                .is_some_and(|check| check.contains("http"))
            && !reason["message"].as_str().unwrap_or_default().is_empty()),
        "a reason names green-1's failing http check: {error}"
    );
    // People still read the refusal on stderr.
    assert!(!stderr.trim().is_empty(), "stderr says why too");
    println!("refused cutover --json: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_aggregator_is_a_json_error_with_exit_3() {
    let bed = Bed::new();
    // Nothing listens there: the port was free a moment ago.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec!["verdict", DEPLOYMENT, "--json"],
        vec!["status", "--json"],
        vec!["cutover", DEPLOYMENT, "--json"],
    ] {
        let (code, stdout, stderr) = bed.cli_at(&nobody, &args).await;
        assert_eq!(code, 3, "{args:?}: {stdout}\n{stderr}");
        let error = one_object(&format!("{args:?}"), &stdout);
        assert_eq!(error["error"], "unreachable", "{error}");
        assert_eq!(error["exit_code"], 3, "{error}");
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.contains("cannot reach the aggregator") && message.contains(&nobody[7..]),
            "{error}"
        );
        assert_eq!(error["reasons"], serde_json::json!([]), "{error}");
    }
}
