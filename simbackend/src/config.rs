//! Who a simulated backend says it is.

/// Identity and behaviour fixed for the life of one simulated backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// `blue` or `green`: reported as `environment` in `/health` and in the
    /// `X-Backend-Color` header, so tests can tell which side answered.
    pub color: String,
    /// Reported by `/health` and work responses, so a cutover test can check
    /// that the new version is the one serving.
    pub version: String,
    /// Work requests per second this backend sends to itself, so `/metrics`
    /// shows real traffic without an outside load generator. 0 turns it off.
    pub self_load_rps: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            color: "blue".to_owned(),
            version: "v3.0.0".to_owned(),
            self_load_rps: 0,
        }
    }
}
