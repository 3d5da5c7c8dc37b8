//! Protobuf `Timestamp` <-> `SystemTime`, and RFC 3339 text for JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;

pub fn to_timestamp(time: SystemTime) -> Timestamp {
    Timestamp::from(time)
}

/// `None` for a timestamp before 1970 or out of range: treated as absent.
pub fn from_timestamp(stamp: &Timestamp) -> Option<SystemTime> {
    let seconds = u64::try_from(stamp.seconds).ok()?;
    let nanos = u32::try_from(stamp.nanos).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trip_keeps_millis() {
        let time = UNIX_EPOCH + Duration::from_millis(1_764_164_000_123);
        assert_eq!(from_timestamp(&to_timestamp(time)), Some(time));
        assert_eq!(rfc3339(time), "2025-11-26T13:33:20.123Z");
        assert_eq!(parse_rfc3339(&rfc3339(time)), Some(time));
    }
}
