//! A check result's own measurements on the agent's `/health`, as an
//! extension member `detail` of its entry: what the guide's
//! `/health/detailed` shows (`connection_pool 8/20`, `memory_usage`, open
//! WebSockets), and what the aggregator gets in each report, so an
//! operator sees the same figures without a gRPC client. Names are the
//! report's fields in camelCase, the unit in the name.

use greenlight_proto::v1::check_result::Detail;
use serde_json::{Value, json};

pub(super) fn detail(detail: &Detail) -> Value {
    match detail {
        Detail::Postgres(d) => json!({
            "connectSeconds": d.connect_seconds,
            "roundTripSeconds": d.round_trip_seconds,
            "connectionsInUse": d.connections_in_use,
            "maxConnections": d.max_connections,
        }),
        Detail::Redis(d) => json!({
            "roundTripSeconds": d.round_trip_seconds,
            "usedMemoryBytes": d.used_memory_bytes,
            "connectedClients": d.connected_clients,
            "role": d.role,
        }),
        Detail::Http(d) => json!({
            "statusCode": d.status_code,
            "latencySeconds": d.latency_seconds,
        }),
        Detail::Traffic(d) => json!({
            "errorRatio": d.error_ratio,
            "windowRequests": d.window_requests,
            "windowErrors": d.window_errors,
            "windowSeconds": d.window_seconds,
            "meanLatencySeconds": d.mean_latency_seconds,
            "p95LatencySeconds": d.p95_latency_seconds,
            "p99LatencySeconds": d.p99_latency_seconds,
        }),
        Detail::Websocket(d) => json!({
            "handshakeSeconds": d.handshake_seconds,
            "pingRoundTripSeconds": d.ping_round_trip_seconds,
            "activeConnections": d.active_connections,
        }),
        Detail::Process(d) => json!({
            "cpuRatio": d.cpu_ratio,
            "residentMemoryBytes": d.resident_memory_bytes,
            "hostLoad1m": d.host_load_1m,
            "hostFreeMemoryBytes": d.host_free_memory_bytes,
        }),
    }
}
