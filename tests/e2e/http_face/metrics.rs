//! /metrics of the aggregator and of both agents scraped and parsed after
//! a story (green READY; a scripted agent's duplicate report refused; a
//! fault in green's backend; Redis stopped), with /health against the
//! health+json shape and /api/v1/deployments/{name} against the Redis key.

use std::collections::BTreeSet;

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::aggregator_message::Body as Answer;
use greenlight_proto::v1::{AgentMessage, Color, Decision, Hello, RejectReason, Report};
use greenlight_testbed::{RedisServer, eventually};
use prometheus_parse::{Scrape, Value};
use redis::AsyncCommands;
use serde_json::Value as Json;

use super::{Story, get};
use crate::bed::{DEPLOYMENT, SETTLE, set_switches};

/// Scrapes `url` (a /metrics) and parses it as Prometheus does.
pub(crate) async fn scrape(url: &str) -> Result<Scrape, String> {
    let (status, content_type, body) = get(url).await?;
    if status != 200 || !content_type.starts_with("text/plain") {
        return Err(format!("{url}: {status} {content_type}: {body}"));
    }
    Scrape::parse(body.lines().map(|line| Ok(line.to_string()))).map_err(|e| e.to_string())
}

/// The value of the series `name` with (at least) `labels`.
pub(crate) fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .find(|sample| labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v)))
        .map(|sample| match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            // A histogram's count: its +Inf bucket.
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => f64::NAN,
        })
}

/// Waits until `url`'s series `name{labels}` satisfies `holds`.
async fn series_where(
    url: &str,
    name: &str,
    labels: &[(&str, &str)],
    holds: impl Fn(f64) -> bool,
) -> f64 {
    eventually(&format!("{name}{labels:?} at {url}"), SETTLE, || async {
        let scrape = scrape(url).await?;
        match value(&scrape, name, labels) {
            Some(v) if holds(v) => Ok(v),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// Every key of a JSON document, by path (arrays by their first element).
fn shape(value: &Json, path: &str, keys: &mut BTreeSet<String>) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map {
                let here = format!("{path}.{key}");
                keys.insert(here.clone());
                shape(inner, &here, keys);
            }
        }
        Json::Array(items) => {
            if let Some(first) = items.first() {
                shape(first, &format!("{path}[]"), keys);
            }
        }
        _ => {}
    }
}

/// A scripted agent of deployment `refusals` sends report 1 twice: the
/// second is refused as a duplicate.
async fn duplicate_report(aggregator: &str) {
    let mut client = AgentServiceClient::connect(aggregator.to_string())
        .await
        .expect("connecting to the aggregator");
    let report = || AgentMessage {
        body: Some(Body::Report(Report {
            sequence: 1,
            observed_at: Some(to_timestamp(std::time::SystemTime::now())),
            ..Default::default()
        })),
    };
    let hello = AgentMessage {
        body: Some(Body::Hello(Hello {
            deployment: "refusals".into(),
            color: Color::Blue as i32,
            instance_id: "scripted-1".into(),
            run_id: "run-1".into(),
            ..Default::default()
        })),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    for message in [hello, report(), report()] {
        sender.send(message).await.unwrap();
    }
    let mut answers = client
        .stream(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .expect("the scripted stream is taken")
        .into_inner();
    let mut bodies = Vec::new();
    while bodies.len() < 3 {
        let answer = answers.message().await.expect("an answer").expect("open");
        bodies.push(answer.body.expect("a body"));
    }
    assert!(matches!(bodies[0], Answer::Welcome(_)), "{bodies:?}");
    assert!(matches!(bodies[1], Answer::Ack(_)), "{bodies:?}");
    match &bodies[2] {
        Answer::Reject(reject) => assert_eq!(reject.reason(), RejectReason::Duplicate),
        other => panic!("the second report 1 was not refused: {other:?}"),
    }
    drop(sender);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_the_api_tell_the_story() {
    let redis = RedisServer::start().await.expect("Redis for the verdicts");
    let story = Story::start(
        &format!(
            "[redis]\nurl = \"{}\"\nverdict_ttl = \"10s\"\n",
            redis.url()
        ),
        "2s",
    )
    .await;
    let metrics = format!("{}/metrics", story.http);
    story
        .bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    // The API says what the Redis key says, in the same shape.
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = client.get_multiplexed_async_connection().await.unwrap();
    let (api, key) = eventually(
        "the API and the Redis key at the same epoch",
        SETTLE,
        || {
            let mut connection = connection.clone();
            let url = format!("{}/api/v1/deployments/{DEPLOYMENT}", story.http);
            async move {
                let (status, content_type, body) = get(&url).await?;
                if status != 200 || content_type != "application/json" {
                    return Err(format!("{status} {content_type}: {body}"));
                }
                let api: Json = serde_json::from_str(&body).map_err(|e| e.to_string())?;
                let stored: String = connection
                    .get(format!("greenlight:{{{DEPLOYMENT}}}:verdict"))
                    .await
                    .map_err(|e| e.to_string())?;
                let key: Json = serde_json::from_str(&stored).map_err(|e| e.to_string())?;
                if api["epoch"] == key["epoch"] {
                    Ok((api, key))
                } else {
                    Err(format!("epochs {} and {}", api["epoch"], key["epoch"]))
                }
            }
        },
    )
    .await;
    let (mut api_keys, mut key_keys) = (BTreeSet::new(), BTreeSet::new());
    shape(&api, "", &mut api_keys);
    shape(&key, "", &mut key_keys);
    assert_eq!(
        api_keys, key_keys,
        "the API's JSON is the Redis key's shape"
    );
    for field in [
        "deployment",
        "decision",
        "phase",
        "live",
        "candidate",
        "reasons",
    ] {
        assert_eq!(api[field], key[field], "{field}");
    }
    assert_eq!(api["decision"], "READY");
    serde_json::from_value::<greenlight_proto::json::VerdictJson>(api.clone())
        .expect("the API's JSON reads as a VerdictJson");
    let (status, _, body) = get(&format!("{}/api/v1/deployments", story.http))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let all: Vec<Json> = serde_json::from_str(&body).unwrap();
    assert!(all.iter().any(|v| v["deployment"] == DEPLOYMENT), "{body}");
    let (status, _, body) = get(&format!("{}/api/v1/deployments/nosuch", story.http))
        .await
        .unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no deployment \\\"nosuch\\\""), "{body}");

    // The gates for status-code-only tools: ready says 200, rollback 412.
    let gate = |which: &str| {
        reqwest::Client::new()
            .post(format!(
                "{}/api/v1/deployments/{DEPLOYMENT}/{which}",
                story.http
            ))
            .send()
    };
    assert_eq!(gate("ready").await.unwrap().status().as_u16(), 200);
    assert_eq!(gate("rollback").await.unwrap().status().as_u16(), 412);

    // /health: health+json, pass, every check shaped as the draft says.
    let (status, content_type, body) = get(&format!("{}/health", story.http)).await.unwrap();
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/health+json")
    );
    let health: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "pass", "{health:#}");
    for (key, entries) in health["checks"].as_object().expect("checks") {
        assert_eq!(
            key.split(':').count(),
            2,
            "component:measurement, not {key}"
        );
        for entry in entries.as_array().expect("an array per check") {
            for field in ["componentType", "status", "time"] {
                assert!(entry.get(field).is_some(), "{key} lacks {field}: {entry}");
            }
            assert!(["pass", "warn", "fail"].contains(&entry["status"].as_str().unwrap()));
        }
    }
    assert_eq!(health["checks"]["redis:responseTime"][0]["status"], "pass");
    assert_eq!(
        health["checks"]["redis:responseTime"][0]["observedUnit"],
        "s"
    );
    let connected = health["checks"]["agents:connected"].as_array().unwrap();
    for color in ["blue", "green"] {
        let entry = connected
            .iter()
            .find(|e| e["componentId"] == format!("{DEPLOYMENT}/{color}"))
            .unwrap_or_else(|| panic!("{color} in {connected:?}"));
        assert_eq!(entry["observedValue"], 1);
    }

    // Refused reports, counted by reason.
    duplicate_report(&story.bed.aggregator_url()).await;

    // A fault in green's backend: its http check fails, green is not ready.
    set_switches(&story.green, r#"{"health_failing": true}"#).await;
    story
        .bed
        .verdict_where("green NOT_READY", SETTLE, |v| {
            v.decision() == Decision::NotReady
        })
        .await;

    assert_eq!(gate("ready").await.unwrap().status().as_u16(), 412);
    let d = ("deployment", DEPLOYMENT);
    series_where(
        &metrics,
        "greenlight_deployment_decision",
        &[d, ("decision", "NOT_READY")],
        |v| v == 1.0,
    )
    .await;
    let aggregator = scrape(&metrics).await.unwrap();
    let get_value = |name: &str, labels: &[(&str, &str)]| {
        value(&aggregator, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?}"))
    };
    assert_eq!(
        get_value(
            "greenlight_deployment_decision",
            &[d, ("decision", "READY")]
        ),
        0.0
    );
    assert_eq!(
        get_value("greenlight_color_live", &[d, ("color", "blue")]),
        1.0
    );
    assert_eq!(
        get_value("greenlight_color_live", &[d, ("color", "green")]),
        0.0
    );
    assert_eq!(
        get_value("greenlight_color_fit_for_traffic", &[d, ("color", "green")]),
        0.0
    );
    for color in ["blue", "green"] {
        assert_eq!(
            get_value("greenlight_agents_connected", &[d, ("color", color)]),
            1.0
        );
        assert_eq!(
            get_value("greenlight_agents_fresh", &[d, ("color", color)]),
            1.0
        );
    }
    let phase: f64 = ["Deploying", "Testing"]
        .iter()
        .map(|phase| get_value("greenlight_deployment_phase", &[d, ("phase", phase)]))
        .sum();
    assert_eq!(phase, 1.0, "a not-ready candidate is Deploying or Testing");
    assert_eq!(
        get_value("greenlight_deployment_phase", &[d, ("phase", "Ready")]),
        0.0
    );
    assert!(get_value("greenlight_reports_ingested_total", &[d]) >= 5.0);
    assert_eq!(
        get_value(
            "greenlight_reports_ingested_total",
            &[("deployment", "refusals")]
        ),
        1.0
    );
    assert_eq!(
        get_value(
            "greenlight_reports_refused_total",
            &[("deployment", "refusals"), ("reason", "duplicate")]
        ),
        1.0
    );
    assert!(get_value("greenlight_decision_latency_seconds", &[]) >= 6.0);
    assert_eq!(
        get_value(
            "greenlight_agent_dropped_reports",
            &[d, ("instance", "green-1")]
        ),
        0.0
    );
    assert!(get_value("greenlight_color_error_ratio", &[d, ("color", "blue")]) < 0.05);
    assert!(get_value("greenlight_deployment_epoch", &[d]) > 0.0);
    assert_eq!(get_value("greenlight_redis_up", &[]), 1.0);

    // Each agent's own /metrics: green's http check down, blue's up.
    for (agent, up) in [(&story.green_agent, 0.0), (&story.blue_agent, 1.0)] {
        let url = format!("{agent}/metrics");
        series_where(
            &url,
            "greenlight_agent_check_up",
            &[("check", "http")],
            |v| v == up,
        )
        .await;
        let own = scrape(&url).await.unwrap();
        assert_eq!(
            value(&own, "greenlight_agent_aggregator_connected", &[]),
            Some(1.0)
        );
        assert!(value(&own, "greenlight_agent_reports_total", &[]).unwrap() >= 5.0);
        assert_eq!(
            value(&own, "greenlight_agent_reports_dropped_total", &[]),
            Some(0.0)
        );
    }

    // Redis stops: /health fails with 503, the publisher counts its errors.
    drop(redis);
    let health = eventually("/health fails without Redis", SETTLE, || async {
        let (status, _, body) = get(&format!("{}/health", story.http)).await?;
        if status == 503 {
            Ok(body)
        } else {
            Err(format!("{status}: {body}"))
        }
    })
    .await;
    let health: Json = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "fail");
    assert_eq!(health["checks"]["redis:responseTime"][0]["status"], "fail");
    series_where(
        &metrics,
        "greenlight_redis_publish_errors_total",
        &[],
        |v| v >= 1.0,
    )
    .await;
    series_where(&metrics, "greenlight_redis_up", &[], |v| v == 0.0).await;
}
