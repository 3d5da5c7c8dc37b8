//! `[ha]`: more than one aggregator on one Redis. Each deployment is led by
//! whichever aggregator holds its lease in Redis; the others stand by,
//! computing verdicts from the same reports, and take over when the lease
//! lapses. Off unless the section is there (one aggregator leads
//! everything, as before).

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHa {
    id: Option<String>,
    #[serde(default = "default_lease", with = "humantime_serde")]
    lease: Duration,
}

fn default_lease() -> Duration {
    Duration::from_secs(5)
}

/// Validated leadership settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HaSettings {
    /// This aggregator's name in the lease (and in `greenlight status`):
    /// unique among the aggregators sharing a Redis.
    pub id: String,
    /// How long a lease lives without renewal: the longest a dead leader
    /// keeps a deployment leaderless. Renewed every fifth of it; a leader
    /// stops acting a quarter of it before it could lapse.
    pub lease: Duration,
}

impl RawHa {
    pub(super) fn validate(self, redis_configured: bool) -> Result<HaSettings, ConfigError> {
        if !redis_configured {
            return Err(ConfigError::key(
                "ha",
                "needs [redis]: the leases that decide which aggregator leads a deployment live there",
            ));
        }
        if self.lease < Duration::from_secs(1) || self.lease > Duration::from_secs(60) {
            return Err(ConfigError::key(
                "ha.lease",
                "must be between 1s and 60s (a dead leader keeps its deployments leaderless this long)",
            ));
        }
        let id = match self.id {
            Some(id) => id,
            None => hostname().ok_or_else(|| {
                ConfigError::key(
                    "ha.id",
                    "is missing and this host's name cannot be read: name this aggregator",
                )
            })?,
        };
        let usable = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !usable {
            return Err(ConfigError::key(
                "ha.id",
                format!("{id:?}: use 1 to 64 letters, digits, '-', '_' or '.'"),
            ));
        }
        Ok(HaSettings {
            id,
            lease: self.lease,
        })
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: Option<&str>, lease: u64) -> RawHa {
        RawHa {
            id: id.map(str::to_string),
            lease: Duration::from_secs(lease),
        }
    }

    #[test]
    fn needs_redis_a_sane_lease_and_a_plain_name() {
        let ok = raw(Some("agg-a"), 5).validate(true).unwrap();
        assert_eq!(
            (ok.id.as_str(), ok.lease),
            ("agg-a", Duration::from_secs(5))
        );
        let no_redis = raw(Some("agg-a"), 5).validate(false).unwrap_err();
        assert!(no_redis.to_string().contains("needs [redis]"), "{no_redis}");
        let zero = raw(Some("agg-a"), 0).validate(true).unwrap_err();
        assert!(zero.to_string().contains("ha.lease"), "{zero}");
        let spaced = raw(Some("agg a"), 5).validate(true).unwrap_err();
        assert!(spaced.to_string().contains("ha.id"), "{spaced}");
        assert!(!raw(None, 5).validate(true).unwrap().id.is_empty());
    }
}
