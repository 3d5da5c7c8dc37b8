//! The agent's `/health` in `application/health+json`
//! (draft-inadarei-api-health-check): `status` pass/warn/fail, and `checks`
//! keyed `component:measurement`, each an array of
//! `{componentType, observedValue, observedUnit, status, time, output}`,
//! plus `detail`, the check's own measurements (see `detail`).
//! One entry per check result (a backend component is `http/database`),
//! and `aggregator:connection` for the streams: one entry per aggregator,
//! its address in `componentId`. An aggregator that is down warns (its
//! reports wait in its outbox, and its verdicts miss them meanwhile), even
//! while others are up; it never fails the document. Pure: a snapshot in,
//! JSON out.

use greenlight_proto::time::rfc3339;
use greenlight_proto::v1::{CheckResult, CheckStatus};
use serde_json::{Map, Value, json};

use super::Snapshot;
use crate::runner::label;

/// The document and whether it says `fail` (then served with 503).
pub(crate) fn document(snapshot: &Snapshot) -> (bool, Value) {
    let time = rfc3339(snapshot.now);
    let mut checks = Map::new();
    let mut worst = CheckStatus::Pass;
    for (name, latest) in &snapshot.checks {
        let Some(latest) = latest else {
            worst = worst.max(CheckStatus::Warn);
            checks.insert(
                format!("{name}:{}", measurement(name, "")),
                json!([{
                    "componentType": component_type(name),
                    "status": "warn",
                    "time": time,
                    "output": "no result yet: the first run has not finished",
                }]),
            );
            continue;
        };
        let at = rfc3339(latest.at);
        for result in &latest.observation.results {
            let status = result.status();
            worst = worst.max(status);
            checks.insert(
                format!(
                    "{}:{}",
                    label(result),
                    measurement(&result.check, &result.component)
                ),
                json!([entry(result, &at)]),
            );
        }
    }
    let mut streams = Vec::with_capacity(snapshot.aggregators.len());
    for aggregator in &snapshot.aggregators {
        let connected = aggregator.connected;
        if !connected {
            // Reports wait in its outbox: worth a look, not a failure.
            worst = worst.max(CheckStatus::Warn);
        }
        streams.push(json!({
            "componentId": aggregator.address,
            "componentType": "component",
            "observedValue": connected,
            "status": if connected { "pass" } else { "warn" },
            "time": time,
            "output": format!(
                "{} reports made, {} waiting for the aggregator, {} dropped",
                snapshot.reports, aggregator.outbox_reports, aggregator.dropped
            ),
        }));
    }
    checks.insert("aggregator:connection".to_string(), Value::Array(streams));
    let failing = worst == CheckStatus::Fail;
    let identity = &snapshot.identity;
    let body = json!({
        "status": word(worst),
        "version": env!("CARGO_PKG_VERSION"),
        "serviceId": format!("greenlight-agent/{}/{}/{}", identity.deployment, identity.color, identity.instance_id),
        "description": "greenlight-agent: what this backend and its dependencies look like",
        "checks": checks,
    });
    (failing, body)
}

fn entry(result: &CheckResult, time: &str) -> Value {
    let mut entry = json!({
        "componentType": component_type(&result.check),
        "observedValue": result.observed_value,
        "observedUnit": unit(&result.observed_unit),
        "status": word(result.status()),
        "time": time,
    });
    if !result.error.is_empty() {
        entry["output"] = Value::String(result.error.clone());
    }
    if let Some(detail) = &result.detail {
        entry["detail"] = super::detail::detail(detail);
    }
    entry
}

/// The measurement part of the key: fixed per check (and component), so a
/// key does not change when its check starts failing.
fn measurement(check: &str, component: &str) -> &'static str {
    match (check, component.is_empty()) {
        ("http", true) => "statusCode",
        (_, false) => "status",
        ("traffic", _) => "errorRatio",
        ("process", _) => "utilization",
        _ => "responseTime",
    }
}

fn component_type(check: &str) -> &'static str {
    match check {
        "postgres" | "redis" => "datastore",
        "process" => "system",
        _ => "component",
    }
}

/// Base units, abbreviated as the draft's examples write them.
fn unit(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        other => other,
    }
}

fn word(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn | CheckStatus::Inconclusive | CheckStatus::Unspecified => "warn",
        CheckStatus::Fail => "fail",
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use greenlight_proto::v1::check_result::Detail;
    use greenlight_proto::v1::{CheckKind, PostgresDetail};

    use super::*;
    use crate::face::{AggregatorSnapshot, Identity};
    use crate::probe::{Observation, failed, passed};
    use crate::runner::Latest;

    fn snapshot(checks: Vec<(&'static str, Option<Latest>)>, connected: bool) -> Snapshot {
        with_aggregators(checks, &[("http://127.0.0.1:7070", connected)])
    }

    fn with_aggregators(
        checks: Vec<(&'static str, Option<Latest>)>,
        aggregators: &[(&str, bool)],
    ) -> Snapshot {
        Snapshot {
            identity: Identity {
                deployment: "escashop".into(),
                color: "green".into(),
                instance_id: "green-1".into(),
            },
            checks,
            aggregators: aggregators
                .iter()
                .map(|&(address, connected)| AggregatorSnapshot {
                    address: address.to_string(),
                    connected,
                    outbox_reports: if connected { 3 } else { 30 },
                    dropped: 0,
                    reconnects: 0,
                })
                .collect(),
            reports: 42,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    fn latest(results: Vec<CheckResult>) -> Option<Latest> {
        Some(Latest {
            observation: Observation {
                results,
                counters: None,
            },
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            next_run: tokio::time::Instant::now(),
        })
    }

    #[test]
    fn passing_checks_and_a_connected_stream_pass() {
        let mut postgres = passed(CheckKind::Postgres, Duration::from_millis(2));
        postgres.observed_value = 0.0012;
        postgres.observed_unit = "seconds".into();
        postgres.detail = Some(Detail::Postgres(PostgresDetail {
            connect_seconds: 0.004,
            round_trip_seconds: 0.0012,
            connections_in_use: 8,
            max_connections: 20,
        }));
        let (failing, body) = document(&snapshot(vec![("postgres", latest(vec![postgres]))], true));
        assert!(!failing);
        assert_eq!(body["status"], "pass");
        let entry = &body["checks"]["postgres:responseTime"][0];
        assert_eq!(entry["componentType"], "datastore");
        assert_eq!(entry["observedValue"], 0.0012);
        assert_eq!(entry["observedUnit"], "s");
        assert_eq!(entry["status"], "pass");
        assert_eq!(entry["time"], "2023-11-14T22:13:20.000Z");
        // The guide's `connection_pool 8/20`.
        assert_eq!(entry["detail"]["connectionsInUse"], 8);
        assert_eq!(entry["detail"]["maxConnections"], 20);
        assert_eq!(entry["detail"]["connectSeconds"], 0.004);
        assert_eq!(
            body["checks"]["aggregator:connection"][0]["observedValue"],
            true
        );
    }

    #[test]
    fn a_failing_component_fails_the_document() {
        let mut whole = passed(CheckKind::Http, Duration::ZERO);
        whole.observed_value = 200.0;
        whole.observed_unit = "status".into();
        let mut database = failed(
            CheckKind::Http,
            "the backend reports database unhealthy",
            Duration::ZERO,
        );
        database.component = "database".into();
        let (failing, body) = document(&snapshot(
            vec![("http", latest(vec![whole, database]))],
            true,
        ));
        assert!(failing);
        assert_eq!(body["status"], "fail");
        let entry = &body["checks"]["http/database:status"][0];
        assert_eq!(entry["status"], "fail");
        assert_eq!(entry["output"], "the backend reports database unhealthy");
        assert_eq!(body["checks"]["http:statusCode"][0]["status"], "pass");
    }

    #[test]
    fn no_result_yet_or_no_aggregator_warns() {
        let (failing, body) = document(&snapshot(vec![("redis", None)], true));
        assert!(!failing);
        assert_eq!(body["status"], "warn");
        assert_eq!(body["checks"]["redis:responseTime"][0]["status"], "warn");
        let (_, body) = document(&snapshot(Vec::new(), false));
        assert_eq!(body["status"], "warn");
        assert_eq!(
            body["checks"]["aggregator:connection"][0]["output"],
            "42 reports made, 30 waiting for the aggregator, 0 dropped"
        );
    }

    #[test]
    fn one_entry_per_aggregator_and_one_down_warns() {
        let aggregators = [
            ("http://10.0.0.5:7070", true),
            ("http://10.0.0.6:7070", false),
        ];
        let (failing, body) = document(&with_aggregators(Vec::new(), &aggregators));
        assert!(!failing, "an aggregator away is never a failure");
        assert_eq!(body["status"], "warn");
        let entries = body["checks"]["aggregator:connection"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["componentId"], "http://10.0.0.5:7070");
        assert_eq!(entries[0]["status"], "pass");
        assert_eq!(
            entries[0]["output"],
            "42 reports made, 3 waiting for the aggregator, 0 dropped"
        );
        assert_eq!(entries[1]["componentId"], "http://10.0.0.6:7070");
        assert_eq!(entries[1]["observedValue"], false);
        assert_eq!(entries[1]["status"], "warn");
        assert_eq!(
            entries[1]["output"],
            "42 reports made, 30 waiting for the aggregator, 0 dropped"
        );
        let all_up = [
            ("http://10.0.0.5:7070", true),
            ("http://10.0.0.6:7070", true),
        ];
        let (_, body) = document(&with_aggregators(Vec::new(), &all_up));
        assert_eq!(body["status"], "pass");
    }
}
