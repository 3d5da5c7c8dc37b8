//! Caps on concurrent streams: beyond the cap a new stream is refused with
//! RESOURCE_EXHAUSTED naming the limit, so one noisy or hostile client
//! cannot take the aggregator's memory or tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tonic::Status;

#[derive(Debug, Clone)]
pub struct StreamLimit {
    open: Arc<AtomicUsize>,
    max: usize,
    /// "agent streams", for the message.
    what: &'static str,
    /// The config key that sets it.
    key: &'static str,
}

/// Held for the stream's life; the slot is freed when it is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    open: Arc<AtomicUsize>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl StreamLimit {
    pub fn new(max: usize, what: &'static str, key: &'static str) -> Self {
        StreamLimit {
            open: Arc::new(AtomicUsize::new(0)),
            max,
            what,
            key,
        }
    }

    pub fn acquire(&self) -> Result<StreamSlot, Status> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        match taken {
            Ok(_) => Ok(StreamSlot {
                open: self.open.clone(),
            }),
            Err(_) => Err(Status::resource_exhausted(format!(
                "too many {}: the limit is {} ({}); try again later or raise it",
                self.what, self.max, self.key
            ))),
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_cap_a_stream_is_refused_naming_the_limit() {
        let limit = StreamLimit::new(2, "agent streams", "limits.max_agent_streams");
        let first = limit.acquire().unwrap();
        let _second = limit.acquire().unwrap();
        let refused = limit.acquire().unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            refused
                .message()
                .contains("the limit is 2 (limits.max_agent_streams)")
        );
        drop(first);
        let _third = limit.acquire().expect("a closed stream frees its slot");
        assert_eq!(limit.open(), 2);
    }
}
