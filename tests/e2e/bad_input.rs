//! Acceptance: bad input is refused with a message that names what is
//! wrong, and the aggregator keeps serving everyone else.

use std::time::Duration;

use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::{AgentMessage, Color, Decision, Hello, Report};
use greenlight_testbed::{Process, binary};
use tonic::Code;

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE};

/// Opens a stream whose first message is `first` and returns the error.
async fn refused(bed: &Bed, first: AgentMessage) -> tonic::Status {
    let mut client = AgentServiceClient::connect(bed.aggregator_url())
        .await
        .expect("connecting to the aggregator");
    let outbound = tokio_stream::iter(vec![first]);
    let result = match client.stream(outbound).await {
        Err(status) => return status,
        Ok(response) => response.into_inner().message().await,
    };
    match result {
        Err(status) => status,
        Ok(message) => panic!("the aggregator accepted the stream: {message:?}"),
    }
}

fn hello(deployment: &str, color: i32, instance: &str) -> AgentMessage {
    AgentMessage {
        body: Some(Body::Hello(Hello {
            deployment: deployment.into(),
            color,
            instance_id: instance.into(),
            ..Default::default()
        })),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_streams_are_refused_and_everyone_else_is_served() {
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let no_dependencies = Dependencies {
        postgres: None,
        redis: None,
    };
    let _green_agent = bed.agent("green", "green-1", &green, no_dependencies, "500ms");
    let before = bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    let report_first = AgentMessage {
        body: Some(Body::Report(Report {
            sequence: 1,
            ..Default::default()
        })),
    };
    let cases = [
        (report_first, "Hello"),
        (hello("", Color::Green as i32, "x"), "hello.deployment"),
        (
            hello("esca shop", Color::Green as i32, "x"),
            "hello.deployment",
        ),
        (hello(DEPLOYMENT, 7, "x"), "hello.color"),
        (
            hello(DEPLOYMENT, Color::Unspecified as i32, "x"),
            "hello.color",
        ),
        (
            hello(DEPLOYMENT, Color::Blue as i32, ""),
            "hello.instance_id",
        ),
    ];
    for (first, field) in cases {
        let status = refused(&bed, first).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }

    // Everyone else is still served: the good agent keeps reporting and the
    // verdict still answers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = bed
        .verdict_where("green still READY", SETTLE, |v| {
            v.decision() == Decision::Ready
        })
        .await;
    assert!(after.agents[0].last_sequence > before.agents[0].last_sequence);
    assert!(aggregator.is_running());
    let (code, stdout, _) = bed.cli(&["status"]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("escashop: READY"), "{stdout}");
    let (code, _, stderr) = bed.cli(&["verdict", "esca shop"]).await;
    assert_eq!(
        code, 2,
        "a malformed deployment name is a usage error: {stderr}"
    );
}

#[tokio::test]
async fn a_bad_aggregator_config_exits_2_naming_file_key_and_reason() {
    let bed = Bed::new();
    let cases = [
        (
            "[defaults]\nready_after = \"soon\"\n",
            "defaults.ready_after",
            "expected a duration",
        ),
        (
            "[deployments.escashop]\nlive = \"purple\"\n",
            "deployments.escashop.live",
            "use blue or green",
        ),
        ("listen = \"nowhere\"\n", "listen", "not an address"),
        ("colour = \"blue\"\n", "colour", "unknown key"),
    ];
    for (text, key, reason) in cases {
        let output = refused_config(&bed, "greenlight-aggregator", "bad.toml", text).await;
        assert!(output.contains("bad.toml"), "names the file: {output}");
        assert!(output.contains(key), "names the key {key}: {output}");
        assert!(output.contains(reason), "says why ({reason}): {output}");
    }
}

#[tokio::test]
async fn a_bad_agent_config_exits_2_naming_the_key() {
    let bed = Bed::new();
    let cases = [
        (
            "deployment = \"escashop\"\ncolor = \"green\"\nintervall = \"1s\"\n[checks.http]\nurl = \"http://127.0.0.1:1/health\"\n",
            "intervall",
        ),
        (
            "deployment = \"escashop\"\ncolor = \"green\"\ninterval = \"-1s\"\n[checks.http]\nurl = \"http://127.0.0.1:1/health\"\n",
            "interval",
        ),
        (
            "deployment = \"escashop\"\ncolor = \"green\"\n[checks.postgres]\nurl = \"not a url\"\n",
            "checks.postgres.url",
        ),
    ];
    for (text, key) in cases {
        let output = refused_config(&bed, "greenlight-agent", "agent.toml", text).await;
        assert!(output.contains(key), "names the key {key}: {output}");
    }
}

/// Issue 12: the source is named as the operator wrote it: a flag alone
/// (not the file's key it overrides), a file with the line and column of
/// the bad value, a missing file as missing. One line each, no backticks.
#[tokio::test]
async fn config_errors_name_their_source_line_and_column() {
    let bed = Bed::new();
    let good_aggregator = "listen = \"127.0.0.1:7070\"\n";
    let good_agent = "deployment = \"escashop\"\ncolor = \"green\"\n\
                      [checks.http]\nurl = \"http://127.0.0.1:1/health\"\n";

    // A bad flag: the flag alone is the source.
    let output = refused_with(
        &bed,
        "greenlight-aggregator",
        "flag.toml",
        good_aggregator,
        &["--listen", "nonsense"],
    )
    .await;
    assert!(
        output.contains("bad configuration: --listen: \"nonsense\" is not an address"),
        "{output}"
    );
    assert!(
        !output.contains("key \"listen\""),
        "blames the file's key: {output}"
    );
    let output = refused_with(
        &bed,
        "greenlight-agent",
        "flag.toml",
        good_agent,
        &["--color", "teal"],
    )
    .await;
    assert!(
        output.contains("greenlight-agent: --color: must be \"blue\" or \"green\", not \"teal\""),
        "{output}"
    );

    // A TOML syntax error: the file, line and column, on one line.
    for (program, text, at) in [
        (
            "greenlight-aggregator",
            "listen = \"127.0.0.1:7070\"\n[defaults]\nready_after = \"30s\n",
            "line 3, column 19",
        ),
        (
            "greenlight-agent",
            "deployment = \"escashop\"\ncolor = \"green\n",
            "line 2, column 15",
        ),
    ] {
        let output = refused_config(&bed, program, "syntax.toml", text).await;
        let line = output.lines().next().unwrap_or("");
        assert!(
            line.contains(&format!("syntax.toml {at}: not valid TOML: ")),
            "{program}: {output}"
        );
        assert!(!output.contains("key \"\""), "{output}");
    }

    // A missing file: its path, and that it does not exist.
    for program in ["greenlight-aggregator", "greenlight-agent"] {
        let missing = bed.dir.path().join("missing.toml");
        let output = refused_args(program, &["--config", missing.to_str().unwrap()]).await;
        assert!(
            output.contains(&format!("{}: does not exist", missing.display())),
            "{program}: {output}"
        );
    }

    // An unknown key: its line, and the keys its table takes, quoted once.
    let output = refused_config(
        &bed,
        "greenlight-aggregator",
        "unknown.toml",
        "listen = \"127.0.0.1:7070\"\n[defaults]\nlisen = \"x\"\n",
    )
    .await;
    assert!(
        output.contains(
            "unknown.toml line 3, column 1: key \"defaults.lisen\": unknown key; \
             [defaults] takes \"live\", \"ready_after\""
        ),
        "{output}"
    );
    assert!(!output.contains('`'), "{output}");
    let output = refused_config(
        &bed,
        "greenlight-agent",
        "unknown.toml",
        &good_agent.replace("[checks.http]\n", "[checks.http]\nurll = \"x\"\n"),
    )
    .await;
    assert!(
        output.contains(
            "unknown.toml line 4, column 1: key \"checks.http.urll\": unknown key; \
             [checks.http] takes \"url\""
        ),
        "{output}"
    );
    assert!(!output.contains('`'), "{output}");
}

/// Issue 12: a readiness window of zero would make one healthy report
/// enough; it is refused where it is written, and the summary writes
/// durations as the file does (`1m 30s`, not `90s` or `0ns`).
#[tokio::test]
async fn a_zero_readiness_window_is_refused_and_durations_read_as_written() {
    let bed = Bed::new();
    for (text, at, key) in [
        (
            "[defaults]\nready_after = \"0s\"\n",
            "line 2, column 1",
            "defaults.ready_after",
        ),
        (
            "[deployments.escashop]\nlive = \"blue\"\nready_after = \"0s\"\n",
            "line 3, column 1",
            "deployments.escashop.ready_after",
        ),
    ] {
        let path = bed.dir.path().join("zero.toml");
        std::fs::write(&path, text).unwrap();
        let output = refused_args(
            "greenlight-aggregator",
            &["--check-config", path.to_str().unwrap()],
        )
        .await;
        assert!(
            output.contains(&format!("zero.toml {at}: key \"{key}\": 0s is too short")),
            "{output}"
        );
        assert!(output.contains("at least 1s"), "{output}");
    }

    let path = bed.dir.path().join("durations.toml");
    std::fs::write(
        &path,
        "[defaults]\nready_after = \"90s\"\n[limits]\nshutdown_grace = \"1500ms\"\n",
    )
    .unwrap();
    let process = Process::spawn(
        binary("greenlight-aggregator"),
        &["--check-config", path.to_str().unwrap()],
        &[],
    )
    .unwrap();
    let status = process.wait_exit(Duration::from_secs(30)).await.unwrap();
    let output = process.output_so_far();
    assert!(status.success(), "{output}");
    assert!(output.contains("ready after 1m 30s,"), "{output}");
    assert!(output.contains("shutdown grace 1s 500ms"), "{output}");
    assert!(
        !output.contains("ns,") && !output.contains("90s"),
        "{output}"
    );
}

/// Runs `program --config FILE` with `text` in FILE; asserts exit 2 and
/// returns what it printed.
async fn refused_config(bed: &Bed, program: &str, file: &str, text: &str) -> String {
    refused_with(bed, program, file, text, &[]).await
}

/// [`refused_config`] with more arguments after the file.
async fn refused_with(bed: &Bed, program: &str, file: &str, text: &str, args: &[&str]) -> String {
    let path = bed.dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    let mut all = vec!["--config", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = refused_args(program, &all).await;
    assert!(!output.is_empty(), "{text}: says nothing");
    output
}

/// Runs `program` with `args`; asserts exit 2 and returns what it printed.
async fn refused_args(program: &str, args: &[&str]) -> String {
    let process = Process::spawn(binary(program), args, &[]).unwrap();
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("a bad config exits at once");
    let output = process.output_so_far();
    assert_eq!(status.code(), Some(2), "{args:?}: {output}");
    output
}
