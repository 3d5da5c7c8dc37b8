//! The email sink against an SMTP server started by the test (aiosmtpd,
//! tests/e2e/alerts/smtp_sink.py) that requires STARTTLS, with a
//! certificate from the test's CA, and AUTH: the rollback mail follows the
//! guide's emergency template.

use std::path::Path;
use std::time::Duration;

use greenlight_testbed::{Process, TestCa, eventually, free_port, installed};
use serde_json::Value;

use super::story;
use crate::bed::{Bed, SETTLE, path_str};

const CONTACT: &str = "oncall@escashop.example / +63 900 000 0000";

async fn smtp_server(dir: &Path, ca: &TestCa, port: u16) -> Process {
    let issued = ca.issue(dir, "smtp", &["127.0.0.1"], 2);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/alerts/smtp_sink.py");
    let process = Process::spawn(
        installed::python().expect("the tests' Python"),
        &[
            "-u",
            path_str(&script),
            "--port",
            &port.to_string(),
            "--cert",
            path_str(&issued.cert),
            "--key",
            path_str(&issued.key),
            "--user",
            "greenlight",
            "--password",
            "s3cret",
            "--dir",
            path_str(&dir.join("mail")),
        ],
        &[],
    )
    .expect("starting the SMTP server");
    process
        .wait_for_line("smtp sink listening", Duration::from_secs(30))
        .await;
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollback_email_over_starttls_and_auth_follows_the_emergency_template() {
    let bed = Bed::new();
    let ca = TestCa::new("smtp-test-ca");
    let ca_file = ca.write(bed.dir.path(), "smtp-ca");
    let port = free_port();
    let smtp = smtp_server(bed.dir.path(), &ca, port).await;
    let password = bed.dir.path().join("smtp-password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let sinks = format!(
        "[alerts]\ncontact = \"{CONTACT}\"\nrollback_eta = \"2-3 minutes\"\n[[alerts.sink]]\nname = \"mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\nca = \"{}\"\nusername = \"greenlight\"\npassword_file = \"{}\"\nfrom = \"greenlight@escashop.example\"\nto = [\"oncall@escashop.example\"]\nevents = [\"rollback\"]\n",
        path_str(&ca_file),
        path_str(&password)
    );
    let aggregator = story::aggregator(&bed, &sinks).await;
    let pair = bed.pair(None).await;
    story::roll_back(&bed, &pair).await;

    let mail = eventually("the rollback email", SETTLE, || async {
        let text = std::fs::read_to_string(bed.dir.path().join("mail/1.json")).ok()?;
        serde_json::from_str::<Value>(&text).ok()
    })
    .await;
    let body = mail["body"].as_str().unwrap();
    println!("subject: {}\n{body}", mail["subject"]);
    assert_eq!(mail["tls"], true, "STARTTLS");
    assert_eq!(mail["authenticated"], true, "AUTH");
    assert_eq!(mail["login"], "greenlight", "AUTH as the configured user");
    assert_eq!(mail["from"], "greenlight@escashop.example");
    assert_eq!(mail["to"][0], "oncall@escashop.example");
    assert_eq!(
        mail["subject"],
        "🚨 EMERGENCY: escashop deployment rollback initiated"
    );
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "🚨 EMERGENCY: escashop deployment rollback initiated"
    );
    let time = lines[1].strip_prefix("Time: ").expect("Time:");
    assert!(
        greenlight_proto::time::parse_rfc3339(time).is_some(),
        "a timestamp: {time}"
    );
    let reason = lines[2].strip_prefix("Reason: ").expect("Reason:");
    assert!(reason.contains("error"), "the rollback's cause: {reason}");
    assert_eq!(lines[3], "Status: Rolling back to blue");
    assert_eq!(lines[4], "ETA: 2-3 minutes");
    assert_eq!(lines[5], format!("Contact: {CONTACT}"));
    // Only the rollback was asked for.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !bed.dir.path().join("mail/2.json").exists(),
        "{}",
        smtp.output_so_far()
    );
    assert!(
        !aggregator.output_so_far().contains("alert delivery failed"),
        "{}",
        aggregator.output_so_far()
    );
}
