//! The deployment the alert tests script: blue live, green the candidate;
//! READY, a cutover, then an error spike that rolls back.

use greenlight_proto::v1::{Phase, Verdict};
use greenlight_testbed::Process;

use crate::bed::{Bed, DEPLOYMENT, Pair, SETTLE, set_switches};

/// `[defaults]` and the deployment, before the test's `[alerts]` (and hooks).
pub fn config(more: &str) -> String {
    format!(
        "[defaults]\nready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n{more}"
    )
}

pub async fn aggregator(bed: &Bed, more: &str) -> Process {
    bed.aggregator_toml(&config(more), &[]).await
}

/// READY, cutover, bake, then green fails: the verdict that rolled back.
pub async fn roll_back(bed: &Bed, pair: &Pair) -> Verdict {
    bed.cut_over_when_ready().await;
    set_switches(&pair.green, r#"{"error_ratio": 0.3}"#).await;
    bed.verdict_where("ROLLBACK", SETTLE, |v| v.phase() == Phase::RolledBack)
        .await
}
