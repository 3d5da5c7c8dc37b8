//! The outbox: reports not yet acknowledged by the aggregator, oldest first,
//! kept so they can be replayed after a reconnect. Bounded: when full, the
//! oldest report is dropped, and counted if it was never sent; every later
//! report carries the count (`dropped_reports`) so the aggregator knows
//! what it missed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use greenlight_proto::v1::Report;
use tokio::sync::watch;

#[derive(Debug)]
pub struct Outbox {
    /// Ascending by sequence, no duplicates.
    reports: VecDeque<Report>,
    capacity: usize,
    /// Reports dropped unsent because the outbox was full, since the start.
    dropped: u64,
    /// Reports up to this sequence went out on the current stream. One of
    /// them pushed out while waiting for its acknowledgement was delivered
    /// (or lost with the stream, like any report in flight), so it is not
    /// counted as dropped.
    sent_up_to: u64,
}

impl Outbox {
    /// An outbox holding at most `capacity` reports (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Outbox {
            reports: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            dropped: 0,
            sent_up_to: 0,
        }
    }

    /// Adds the newest report (its sequence must be above all held ones),
    /// dropping the oldest when full. Stamps the report with the cumulative
    /// drop count, this drop included.
    pub fn push(&mut self, mut report: Report) {
        debug_assert!(
            self.reports
                .back()
                .is_none_or(|last| last.sequence < report.sequence),
            "reports are pushed in sequence order"
        );
        if self.reports.len() >= self.capacity {
            let oldest = self.reports.pop_front();
            if oldest.is_some_and(|oldest| oldest.sequence > self.sent_up_to) {
                self.dropped += 1;
            }
        }
        report.dropped_reports = self.dropped;
        self.reports.push_back(report);
    }

    /// Forgets every report up to and including `sequence` (the aggregator
    /// holds them). Returns how many were forgotten.
    pub fn acknowledge(&mut self, sequence: u64) -> usize {
        let held = self
            .reports
            .partition_point(|report| report.sequence <= sequence);
        self.reports.drain(..held);
        held
    }

    /// Notes that every report up to `sequence` was handed to the stream.
    pub fn sent(&mut self, sequence: u64) {
        self.sent_up_to = self.sent_up_to.max(sequence);
    }

    /// A new stream starts sending after `sequence` (what the aggregator
    /// holds): what the old stream sent without acknowledgement goes again.
    pub fn resend_after(&mut self, sequence: u64) {
        self.sent_up_to = sequence;
    }

    /// Forgets the one report `sequence`, e.g. after the aggregator rejected
    /// it for good. Returns whether it was held.
    pub fn remove(&mut self, sequence: u64) -> bool {
        match self
            .reports
            .binary_search_by_key(&sequence, |report| report.sequence)
        {
            Ok(index) => self.reports.remove(index).is_some(),
            Err(_) => false,
        }
    }

    /// The oldest held report after `sequence`: what to send next when
    /// everything up to `sequence` has been sent.
    pub fn next_after(&self, sequence: u64) -> Option<&Report> {
        let index = self
            .reports
            .partition_point(|report| report.sequence <= sequence);
        self.reports.get(index)
    }

    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// Reports dropped so far because the outbox was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Held sequences, oldest first.
    pub fn sequences(&self) -> impl Iterator<Item = u64> + '_ {
        self.reports.iter().map(|report| report.sequence)
    }
}

/// The outbox shared by the report loop (which pushes) and the stream
/// (which sends, and trims on acknowledgements), with a signal for "a new
/// report is in".
#[derive(Debug, Clone)]
pub(crate) struct SharedOutbox {
    outbox: Arc<Mutex<Outbox>>,
    /// The newest pushed sequence; the stream waits on its changes.
    newest: Arc<watch::Sender<u64>>,
}

impl SharedOutbox {
    pub(crate) fn new(capacity: usize) -> Self {
        SharedOutbox {
            outbox: Arc::new(Mutex::new(Outbox::new(capacity))),
            newest: Arc::new(watch::Sender::new(0)),
        }
    }

    pub(crate) fn push(&self, report: Report) {
        let sequence = report.sequence;
        self.lock().push(report);
        self.newest.send_replace(sequence);
    }

    /// Locks the outbox. Held only for quick bookkeeping, never across an
    /// await.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Outbox> {
        // A panic while holding the lock leaves a consistent deque: go on.
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest pushed sequence; 0 before the first report.
    pub(crate) fn newest(&self) -> u64 {
        *self.newest.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sequence: u64) -> Report {
        Report {
            sequence,
            ..Report::default()
        }
    }

    fn filled(capacity: usize, sequences: std::ops::RangeInclusive<u64>) -> Outbox {
        let mut outbox = Outbox::new(capacity);
        for sequence in sequences {
            outbox.push(report(sequence));
        }
        outbox
    }

    #[test]
    fn full_outbox_drops_the_oldest_and_counts() {
        let outbox = filled(3, 1..=5);
        assert_eq!(outbox.sequences().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(outbox.dropped(), 2);
        let drops: Vec<u64> = outbox.reports.iter().map(|r| r.dropped_reports).collect();
        assert_eq!(
            drops,
            [0, 1, 2],
            "each report carries the count at its push"
        );
        assert_eq!(outbox.len(), 3);
    }

    #[test]
    fn reports_pushed_out_after_sending_are_not_counted() {
        let mut outbox = filled(3, 1..=3);
        outbox.sent(2);
        outbox.push(report(4));
        outbox.push(report(5));
        assert_eq!(outbox.sequences().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(outbox.dropped(), 0, "1 and 2 were on their way");
        outbox.push(report(6));
        assert_eq!(outbox.dropped(), 1, "3 never went out");
        outbox.resend_after(0);
        outbox.push(report(7));
        assert_eq!(
            outbox.dropped(),
            2,
            "a new stream sends 4 again; dropping it loses it"
        );
    }

    #[test]
    fn acknowledgement_trims_up_to_the_sequence() {
        let mut outbox = filled(10, 1..=5);
        assert_eq!(outbox.acknowledge(3), 3);
        assert_eq!(outbox.sequences().collect::<Vec<_>>(), [4, 5]);
        assert_eq!(outbox.acknowledge(3), 0, "acks are idempotent");
        assert_eq!(outbox.acknowledge(99), 2);
        assert!(outbox.is_empty());
        assert_eq!(outbox.dropped(), 0);
    }

    #[test]
    fn replay_goes_in_sequence_order_from_the_cursor() {
        let mut outbox = filled(10, 1..=6);
        assert!(outbox.remove(3));
        assert!(!outbox.remove(3));
        let mut sent = Vec::new();
        let mut cursor = 1;
        while let Some(next) = outbox.next_after(cursor) {
            cursor = next.sequence;
            sent.push(cursor);
        }
        assert_eq!(sent, [2, 4, 5, 6]);
        assert_eq!(outbox.next_after(0).map(|r| r.sequence), Some(1));
    }

    #[test]
    fn cursor_skips_dropped_reports() {
        let outbox = filled(2, 1..=4);
        assert_eq!(outbox.next_after(1).map(|r| r.sequence), Some(3));
    }

    #[tokio::test]
    async fn shared_outbox_signals_new_reports() {
        let shared = SharedOutbox::new(4);
        let mut newest = shared.subscribe();
        shared.push(report(1));
        newest.changed().await.unwrap();
        assert_eq!(*newest.borrow_and_update(), 1);
        assert_eq!(shared.lock().len(), 1);
    }
}
