//! The process's metrics recorder: installed once (the binary's main, the
//! demo), its handle handed to `run_on` so /metrics can render it.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Decision latency buckets, in seconds: a report is answered in well
/// under a millisecond unless the engine's lock is contended.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Installs the Prometheus recorder as the global `metrics` recorder.
/// Errors when one is installed already.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("greenlight_decision_latency_seconds".into()),
            &LATENCY_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("a metrics recorder is installed already"))?;
    Ok(handle)
}
