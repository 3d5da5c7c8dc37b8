//! A real agent pair and aggregator exporting to the test's OTLP receiver
//! (OTEL_EXPORTER_OTLP_ENDPOINT, short batch delays): green is cut over,
//! an error spike rolls it back, and the rollback hook's span shares one
//! trace id with the agent's span of the report that tipped it and the
//! aggregator's ingest, dispatch, Redis write and rollback alert (its
//! delivery to a webhook sink) of that report. The aggregator is named by
//! OTEL_SERVICE_NAME, the agents by the default. The stream itself is a
//! trace of its own: the agent's connect, the aggregator's stream span as
//! its child (the context in the stream's gRPC headers).

use greenlight_proto::v1::Phase;
use greenlight_testbed::{OtlpReceiver, Process, ReceivedSpan, RedisServer, binary, eventually};

use crate::alerts::receiver::Receiver;
use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE, path_str, set_switches};

/// The aggregator's `service.name`, from OTEL_SERVICE_NAME.
const AGGREGATOR_SERVICE: &str = "escashop-aggregator";

const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reports_path_from_agent_to_rollback_hook_is_one_trace() {
    let receiver = OtlpReceiver::start().await.expect("the OTLP receiver");
    let redis = RedisServer::start().await.expect("Redis for the verdicts");
    let endpoint = receiver.endpoint();
    // Batches leave every 100 ms, so the spans arrive while the test waits.
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("RUST_LOG", "info"),
    ];
    let bed = Bed::new();
    let marker = bed.dir.path().join("rolled-back");
    let sink = Receiver::start().await;
    let config = format!(
        "{RULES}[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n[hooks.cutover]\ncommand = [\"true\"]\n[hooks.rollback]\ncommand = [\"touch\", \"{}\"]\n[[alerts.sink]]\nname = \"oncall\"\nkind = \"webhook\"\nurl = \"{}/alerts\"\nevents = [\"rollback\"]\n",
        marker.display(),
        sink.url
    );
    let mut aggregator_env = otel.to_vec();
    aggregator_env.push(("OTEL_SERVICE_NAME", AGGREGATOR_SERVICE));
    let _aggregator = bed
        .aggregator_with_env(Some(&redis.url()), &config, &aggregator_env)
        .await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let agent = |color: &str, instance: &str, backend: &str| {
        let no_dependencies = Dependencies {
            postgres: None,
            redis: None,
        };
        let config = bed.agent_config(color, instance, backend, no_dependencies, "500ms");
        Process::spawn(
            binary("greenlight-agent"),
            &["--config", path_str(&config)],
            &otel,
        )
        .expect("starting greenlight-agent")
    };
    let _blue_agent = agent("blue", "blue-1", &blue);
    let green_agent = agent("green", "green-1", &green);

    bed.cut_over_when_ready().await;
    set_switches(&green, r#"{"error_ratio": 0.3}"#).await;
    bed.verdict_where("rolled back", SETTLE, |v| v.phase() == Phase::RolledBack)
        .await;
    assert!(marker.exists(), "the rollback hook ran");

    // The rollback hook's span, then everything in its trace.
    let (hook, trace) = eventually("the rollback hook's trace", SETTLE, || async {
        let spans = receiver.spans();
        let hook = spans.iter().find(|span| {
            span.name == "aggregator.hook" && span.attribute("action") == Some("rollback")
        })?;
        let trace: Vec<ReceivedSpan> = spans
            .iter()
            .filter(|span| span.trace_id == hook.trace_id)
            .cloned()
            .collect();
        // The agent's span, the Redis write and the alert's delivery may
        // arrive in other batches.
        let has = |name: &str| trace.iter().any(|span| span.name == name);
        (has("agent.report") && has("aggregator.redis_publish") && has("aggregator.alert"))
            .then(|| (hook.clone(), trace))
    })
    .await;
    let summary: Vec<String> = trace
        .iter()
        .map(|span| {
            format!(
                "{} {} {}<-{}",
                span.service, span.name, span.span_id, span.parent_span_id
            )
        })
        .collect();
    println!("trace {}:\n  {}", hook.trace_id, summary.join("\n  "));
    let find = |service: &str, name: &str| {
        trace
            .iter()
            .find(|span| span.service == service && span.name == name)
            .unwrap_or_else(|| panic!("{service} {name} in the trace: {summary:#?}"))
    };
    let report = find("greenlight-agent", "agent.report");
    let ingest = find(AGGREGATOR_SERVICE, "aggregator.ingest");
    let dispatch = find(AGGREGATOR_SERVICE, "aggregator.dispatch");
    assert_eq!(report.parent_span_id, "", "the agent's report is the root");
    assert_eq!(ingest.parent_span_id, report.span_id, "{summary:#?}");
    assert_eq!(
        ingest.attribute("sequence"),
        report.attribute("sequence"),
        "the same report"
    );
    assert_eq!(ingest.attribute("instance"), Some("green-1"));
    assert_eq!(dispatch.parent_span_id, ingest.span_id, "{summary:#?}");
    assert_eq!(hook.parent_span_id, dispatch.span_id, "{summary:#?}");
    let written = find(AGGREGATOR_SERVICE, "aggregator.redis_publish");
    assert_eq!(written.parent_span_id, dispatch.span_id, "{summary:#?}");
    assert!(dispatch.attribute("actions").is_some_and(|n| n != "0"));
    let alert = find(AGGREGATOR_SERVICE, "aggregator.alert");
    assert_eq!(alert.parent_span_id, dispatch.span_id, "{summary:#?}");
    assert_eq!(alert.attribute("sink"), Some("oncall"));
    assert_eq!(alert.attribute("event"), Some("rollback"));
    assert!(
        !sink.bodies("/alerts").is_empty(),
        "the alert whose delivery is traced reached the sink"
    );

    // The stream's span ends with the stream: stop the green agent.
    green_agent.terminate().await;
    let (connect, stream) = eventually("the green stream's trace", SETTLE, || async {
        let spans = receiver.spans();
        let stream = spans.iter().find(|span| {
            span.name == "serve_reports" && span.attribute("instance") == Some("green-1")
        })?;
        let connect = spans
            .iter()
            .find(|span| span.name == "agent.connect" && span.span_id == stream.parent_span_id)?;
        Some((connect.clone(), stream.clone()))
    })
    .await;
    assert_eq!(connect.trace_id, stream.trace_id);
    assert_eq!(connect.service, "greenlight-agent");
    assert_eq!(stream.service, AGGREGATOR_SERVICE);
    assert_ne!(
        stream.trace_id, hook.trace_id,
        "a stream's trace is not a report's"
    );
}
