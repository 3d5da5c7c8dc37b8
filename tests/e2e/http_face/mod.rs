//! Acceptance for the aggregator's HTTP face (`[http] listen`): what
//! /metrics, /health and the verdict API say after a scripted story, what
//! headless Chromium reads on the status page as the story goes on, and
//! that the Grafana dashboard charts what the docs list.

mod dashboard;
pub(crate) mod metrics;
mod status_page;

use greenlight_testbed::{Process, free_port};

use crate::bed::Bed;

/// A blue/green pair whose agents serve their own /health and /metrics,
/// and an aggregator serving its HTTP face.
pub struct Story {
    pub bed: Bed,
    /// `http://127.0.0.1:<port>` of the aggregator's HTTP face.
    pub http: String,
    /// The green backend's address (its `/control` takes faults).
    pub green: String,
    /// The agents' faces, `http://127.0.0.1:<port>`.
    pub blue_agent: String,
    pub green_agent: String,
    _processes: Vec<Process>,
}

impl Story {
    /// `sections`: more aggregator TOML (`[redis]`); `ready_after` for every
    /// deployment.
    pub async fn start(sections: &str, ready_after: &str) -> Story {
        let bed = Bed::new();
        let http_port = free_port();
        let aggregator = bed
            .aggregator_toml(
                &format!(
                    "{sections}\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n[defaults]\nready_after = \"{ready_after}\"\n"
                ),
                &[],
            )
            .await;
        let (blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
        let (green_backend, green) = bed.backend("green", "v3.1.0").await;
        let (blue_port, green_port) = (free_port(), free_port());
        let url = bed.aggregator_url();
        let listen = |port: u16| format!("listen = \"127.0.0.1:{port}\"");
        let blue_agent = bed.agent_to(&url, &listen(blue_port), "blue", "blue-1", &blue);
        let green_agent = bed.agent_to(&url, &listen(green_port), "green", "green-1", &green);
        Story {
            bed,
            http: format!("http://127.0.0.1:{http_port}"),
            green,
            blue_agent: format!("http://127.0.0.1:{blue_port}"),
            green_agent: format!("http://127.0.0.1:{green_port}"),
            _processes: vec![
                aggregator,
                blue_backend,
                green_backend,
                blue_agent,
                green_agent,
            ],
        }
    }
}

/// GET `url`: (status, content type, body); `Err` while nothing answers.
pub async fn get(url: &str) -> Result<(u16, String, String), String> {
    let response = reqwest::get(url).await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    Ok((status, content_type, body))
}
