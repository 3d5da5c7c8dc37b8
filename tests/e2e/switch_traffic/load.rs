//! Keep-alive load through a load balancer: clients each sending requests
//! back to back on one kept-alive connection, recording when each request
//! was sent and which color answered it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// Set by the simulated backend on every response.
const COLOR_HEADER: &str = "x-backend-color";
/// A request that takes longer has failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One request.
#[derive(Debug)]
pub struct Sample {
    pub sent: Instant,
    pub answer: Answer,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx response from this color.
    Served(String),
    /// Any other status (with the color, if a backend answered).
    Status(u16, String),
    /// No response at all: the transport error, with its causes.
    Transport(String),
}

impl Answer {
    pub fn failed(&self) -> bool {
        !matches!(self, Answer::Served(_))
    }
}

/// Clients running until `stop` or their time limit, whichever is first.
pub struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts `clients` clients sending `GET url` back to back. Each stops
    /// by itself after `limit`, so a test that fails midway leaves no load.
    pub fn start(url: &str, clients: usize, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + limit;
        let clients = (0..clients)
            .map(|_| tokio::spawn(client(url.to_owned(), Arc::clone(&stop), deadline)))
            .collect();
        Load { stop, clients }
    }

    /// Stops the clients and returns every request, in the order sent.
    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        let mut samples = Vec::new();
        for client in self.clients {
            samples.extend(client.await.expect("a load client panicked"));
        }
        samples.sort_by_key(|sample| sample.sent);
        samples
    }
}

/// One client: one pooled keep-alive connection, a request at a time.
async fn client(url: String, stop: Arc<AtomicBool>, deadline: Instant) -> Vec<Sample> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("a reqwest client");
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        let sent = Instant::now();
        let answer = ask(&client, &url).await;
        samples.push(Sample { sent, answer });
    }
    samples
}

async fn ask(client: &reqwest::Client, url: &str) -> Answer {
    let response = match client.get(url).send().await {
        Ok(response) => response,
        Err(error) => return Answer::Transport(causes(&error)),
    };
    let status = response.status();
    let color = response
        .headers()
        .get(COLOR_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // Read to the end, so the connection goes back to the pool for the next.
    if let Err(error) = response.bytes().await {
        return Answer::Transport(causes(&error));
    }
    if status.is_success() {
        Answer::Served(color)
    } else {
        Answer::Status(status.as_u16(), color)
    }
}

/// The color answering one request on a fresh connection.
pub async fn color_of(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|error| causes(&error))?;
    match ask(&client, url).await {
        Answer::Served(color) => Ok(color),
        other => Err(format!("{url}: {other:?}")),
    }
}

/// An error and its causes on one line: reqwest's own message alone rarely
/// says what happened on the wire.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
