use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::alerts::email::EmailContext;
use crate::alerts::event::{AlertSeverity, EventKind};

/// Nothing listens on port 9 (discard) here: every attempt is refused.
const NOBODY: &str = "http://127.0.0.1:9/alerts";

fn settings(queue: usize, retries: u32, backoff: Duration) -> SinkSettings {
    SinkSettings {
        name: "test".into(),
        target: SinkTarget::Webhook { url: NOBODY.into() },
        route: Route::default(),
        queue,
        retries,
        backoff,
        timeout: Duration::from_secs(5),
        dedup_window: Duration::from_secs(60),
        repost: Duration::from_secs(60),
    }
}

fn sink(settings: SinkSettings) -> (Sink, SinkHandle, mpsc::Receiver<Queued>) {
    let context = EmailContext {
        contact: String::new(),
        rollback_eta: String::new(),
    };
    let deliverer = Deliverer::new(&settings.target, settings.timeout, &context).unwrap();
    Sink::new(settings, deliverer, Clock::start())
}

fn event(key: &str) -> AlertEvent {
    AlertEvent {
        kind: EventKind::Hold,
        state: AlertState::Firing,
        deployment: "escashop".into(),
        color: "green".into(),
        severity: AlertSeverity::Warning,
        summary: "escashop: HOLD".into(),
        details: vec![],
        key: key.into(),
        epoch: 1,
        at: UNIX_EPOCH,
        since: UNIX_EPOCH,
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_at_once_instead_of_waiting() {
    let (_sink, handle, queue) = sink(settings(2, 0, Duration::from_secs(1)));
    let before = Instant::now();
    for i in 0..5 {
        handle.offer(&event(&format!("k{i}")));
    }
    assert_eq!(Instant::now(), before, "offering never waits");
    assert_eq!(queue.len(), 2, "the rest were dropped");
}

#[tokio::test(start_paused = true)]
async fn routing_happens_before_the_queue() {
    let mut settings = settings(2, 0, Duration::from_secs(1));
    settings.route.events = Some([EventKind::Rollback].into());
    let (_sink, handle, queue) = sink(settings);
    handle.offer(&event("k"));
    assert!(queue.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_event_is_retried_with_backoff_then_given_up() {
    let (sink, _handle, _queue) = sink(settings(4, 2, Duration::from_secs(1)));
    let start = Instant::now();
    let delivered = sink.send(&[&event("k")], &CancellationToken::new()).await;
    assert!(!delivered);
    // Two delays, doubling from 1 s, each at least half of itself.
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn at_stop_an_event_gets_one_attempt_and_no_retries() {
    let (sink, _handle, _queue) = sink(settings(4, 20, Duration::from_secs(3600)));
    let stop = CancellationToken::new();
    stop.cancel();
    let start = Instant::now();
    assert!(!sink.send(&[&event("k")], &stop).await);
    assert!(
        start.elapsed() < Duration::from_secs(3600),
        "no backoff slept"
    );
}
