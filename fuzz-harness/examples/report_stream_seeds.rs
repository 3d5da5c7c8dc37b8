//! Writes the seeds of the `report_stream` corpus: a few deployments told
//! as the real agents and operators would tell them (`cargo run -p
//! greenlight-fuzz-harness --example report_stream_seeds -- DIR`). The
//! fuzzer grows the corpus from these; `cargo fuzz cmin` keeps what covers.

use greenlight_fuzz_harness::report_stream::Script;
use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{
    CheckKind, CheckResult, CheckStatus, Color, Hello, PostgresDetail, Report, TrafficCounters,
    TrafficDetail,
};

/// 2026-12-02T00:00:00Z, where the harness's clock starts.
const START: u64 = 1_796_169_600;

fn hello(color: Color, instance: &str) -> Hello {
    Hello {
        deployment: "escashop".into(),
        color: color as i32,
        instance_id: instance.into(),
        agent_version: "0.1.0".into(),
        backend_version: "v3.1.0".into(),
        report_interval_ms: 1000,
        run_id: format!("{instance}-run"),
    }
}

fn check(kind: CheckKind, name: &str, status: CheckStatus) -> CheckResult {
    CheckResult {
        check: name.into(),
        kind: kind as i32,
        status: status as i32,
        duration_seconds: 0.004,
        ..Default::default()
    }
}

/// Report `sequence` of a backend with `errors` of every 100 requests
/// failing, its database up or not.
fn report(sequence: u64, errors: u64, database_up: bool) -> Report {
    let status = |ok| {
        if ok {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        }
    };
    let mut postgres = check(CheckKind::Postgres, "postgres", status(database_up));
    postgres.detail = Some(Detail::Postgres(PostgresDetail {
        connect_seconds: 0.002,
        round_trip_seconds: 0.001,
        connections_in_use: 8,
        max_connections: 20,
    }));
    if !database_up {
        postgres.error = "connection refused".into();
    }
    let mut traffic = check(CheckKind::Traffic, "traffic", status(errors < 5));
    let ratio = errors as f64 / 100.0;
    traffic.observed_value = ratio;
    traffic.observed_unit = "ratio".into();
    traffic.threshold = 0.05;
    traffic.detail = Some(Detail::Traffic(TrafficDetail {
        error_ratio: ratio,
        window_requests: 3000,
        window_errors: errors * 30,
        window_seconds: 30.0,
        mean_latency_seconds: 0.05,
        p95_latency_seconds: 0.2,
        p99_latency_seconds: 0.4,
    }));
    Report {
        sequence,
        observed_at: Some(prost_types::Timestamp {
            seconds: (START + sequence) as i64,
            nanos: 0,
        }),
        checks: vec![
            check(CheckKind::Http, "http", CheckStatus::Pass),
            postgres,
            traffic,
        ],
        traffic: Some(TrafficCounters {
            requests_total: sequence * 100,
            errors_total: sequence * errors,
            request_duration_seconds_sum: sequence as f64 * 5.0,
            request_duration_seconds_count: sequence * 100,
            websocket_connections: 3,
        }),
        dropped_reports: 0,
        traceparent: String::new(),
    }
}

/// Both colors say Hello and report `seconds` times, 0.9 s apart.
fn both_report(flags: u8, seconds: u64, green_errors: u64) -> Script {
    let mut script = Script::new(flags)
        .hello(0, &hello(Color::Blue, "blue-1"))
        .hello(0, &hello(Color::Green, "green-1"));
    for sequence in 1..=seconds {
        script = script.report(3, 0, &report(sequence, 0, true)).report(
            0,
            1,
            &report(sequence, green_errors, true),
        );
    }
    script
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: report_stream_seeds DIR");
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("ready", both_report(0, 35, 0).bytes()),
        (
            "cutover-bake-verified",
            {
                let mut script = both_report(0, 35, 0).event(0, 4, &[0]);
                for sequence in 36..=45 {
                    script = script.report(3, 0, &report(sequence, 0, true)).report(
                        0,
                        1,
                        &report(sequence, 0, true),
                    );
                }
                script.event(31, 3, &[]).event(31, 3, &[]).event(31, 3, &[])
            }
            .bytes(),
        ),
        (
            "cutover-then-errors-roll-back",
            {
                let mut script = both_report(2, 35, 0).event(0, 4, &[1]).event(0, 7, &[0]);
                for sequence in 36..=50 {
                    script = script.report(3, 0, &report(sequence, 0, true)).report(
                        0,
                        1,
                        &report(sequence, 20, true),
                    );
                }
                script.event(0, 7, &[0])
            }
            .bytes(),
        ),
        (
            "database-lost-on-both",
            {
                let mut script = both_report(1, 35, 0);
                for sequence in 36..=45 {
                    script = script.report(3, 0, &report(sequence, 0, false)).report(
                        0,
                        1,
                        &report(sequence, 0, false),
                    );
                }
                script.event(5, 6, &[0]).event(5, 6, &[1]).event(0, 5, &[])
            }
            .bytes(),
        ),
        (
            "green-goes-silent",
            both_report(8, 10, 0)
                .event(0, 2, &[1])
                .event(31, 3, &[])
                .event(31, 3, &[])
                .event(0, 7, &[3])
                .bytes(),
        ),
    ];
    for (name, bytes) in seeds {
        let path = std::path::Path::new(&dir).join(format!("seed-{name}"));
        std::fs::write(&path, bytes).expect("the seed is written");
        println!("{}", path.display());
    }
}
