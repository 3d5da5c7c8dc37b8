//! Headless Chromium reads the status page of a running aggregator: the
//! phase, both colors with their agents and checks, the verdict's reasons,
//! the timeline's transitions; then a fault in green's backend shows up,
//! in the verdict and in the timeline, without a reload (the page's
//! server-sent events). Screenshots go to target/status-page.png and
//! target/status-page-phone.png.

use std::path::PathBuf;

use greenlight_proto::v1::Decision;
use greenlight_testbed::Browser;

use super::Story;
use crate::bed::{DEPLOYMENT, SETTLE, set_switches};

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// Waits until the page's text holds every one of `wanted`.
async fn page_shows(browser: &mut Browser, what: &str, wanted: &[String]) -> String {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let text = browser.text().await.expect("the page's text");
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !text.contains(w.as_str()))
            .collect();
        if missing.is_empty() {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the page never showed {missing:?}; it shows:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_the_story_and_follows_it_live() {
    let story = Story::start("", "2s").await;
    let ready = story
        .bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    let mut browser = Browser::open(&format!("{}/", story.http))
        .await
        .expect("headless Chromium on the status page");
    browser.viewport(1000, 1500, false).await.unwrap();

    let mut wanted: Vec<String> = [
        DEPLOYMENT,
        "Ready",
        "READY",
        "live blue, candidate green ready for cutover",
        "blue live",
        "green candidate",
        "blue-1 connected, fresh",
        "green-1 connected, fresh",
        "http\tHTTP 200",
        "traffic\t",
        "Recent",
        // The timeline has the transition that made green READY.
        "transition: Testing → Ready",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    wanted.extend(ready.reasons.iter().map(|r| r.message.clone()));
    page_shows(&mut browser, "green READY", &wanted).await;
    let charts = browser
        .evaluate("document.querySelectorAll('svg.chart line.threshold').length")
        .await
        .unwrap();
    assert_eq!(
        charts, 2,
        "error ratio and latency, each with its threshold"
    );
    // The events are flowing; this mark would not survive a reload.
    let deadline = tokio::time::Instant::now() + SETTLE;
    while browser_updates(&mut browser).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no server-sent event arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.evaluate("window.notReloaded = true").await.unwrap();
    let transitions_before = transitions_shown(&mut browser).await;

    // A fault in green's backend: its /health fails, errors rise.
    set_switches(
        &story.green,
        r#"{"health_failing": true, "error_ratio": 0.3}"#,
    )
    .await;
    let not_ready = story
        .bed
        .verdict_where("green NOT_READY", SETTLE, |v| {
            v.decision() == Decision::NotReady && !v.reasons.is_empty()
        })
        .await;
    let mut wanted: Vec<String> = ["NOT_READY", "http\tHTTP 503", "fail"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    wanted.extend(
        not_ready
            .reasons
            .iter()
            .filter(|r| r.check == "http")
            .map(|r| r.message.clone()),
    );
    let text = page_shows(&mut browser, "green NOT_READY", &wanted).await;
    // The fault's transition joins the timeline, live too.
    let deadline = tokio::time::Instant::now() + SETTLE;
    while transitions_shown(&mut browser).await <= transitions_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timeline still shows {transitions_before} transitions after the fault"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(!text.contains("\tREADY"), "{text}");
    assert_eq!(
        browser
            .evaluate("window.notReloaded === true")
            .await
            .unwrap(),
        true,
        "the page changed without a reload"
    );
    // Let the chart draw a few of green's bad samples.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    browser
        .screenshot(&target_dir().join("status-page.png"))
        .await
        .unwrap();
    browser.viewport(390, 1800, true).await.unwrap();
    let width = browser
        .evaluate("document.documentElement.scrollWidth")
        .await
        .unwrap();
    assert!(
        width.as_f64().unwrap() <= 390.0,
        "no sideways scrolling on a phone: {width}"
    );
    browser
        .screenshot(&target_dir().join("status-page-phone.png"))
        .await
        .unwrap();
}

async fn browser_updates(browser: &mut Browser) -> u64 {
    browser
        .evaluate("Number(document.body.dataset.updates)")
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

async fn transitions_shown(browser: &mut Browser) -> u64 {
    browser
        .evaluate("document.querySelectorAll('.timeline li.e-transition').length")
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}
