//! Headless Chromium driven over the Chrome DevTools Protocol: a page is
//! opened at a URL, then asked for its text (`Runtime.evaluate`) and a
//! picture (`Page.captureScreenshot`). Enough CDP for the status page's
//! tests, over one WebSocket to the page's target.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Process, installed};

/// How long Chromium may take to start and open its debugging port.
const STARTUP: Duration = Duration::from_secs(60);
/// How long one CDP command may take.
const COMMAND: Duration = Duration::from_secs(30);

pub struct Browser {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    // Dropped after the socket: the process, then its profile directory.
    _process: Process,
    _profile: TempDir,
}

impl Browser {
    /// Starts a fresh headless Chromium showing `url`.
    pub async fn open(url: &str) -> anyhow::Result<Browser> {
        let profile = tempfile::tempdir().context("a profile directory for Chromium")?;
        let user_data = format!("--user-data-dir={}", profile.path().display());
        let process = Process::spawn(
            installed::chromium()?,
            &[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                &user_data,
                url,
            ],
            &[],
        )?;
        let port = debugging_port(profile.path(), &process).await?;
        let page = page_target(port).await?;
        let (socket, _) = tokio_tungstenite::connect_async(page.as_str())
            .await
            .with_context(|| format!("connecting to the page's DevTools socket {page}"))?;
        Ok(Browser {
            socket,
            next_id: 1,
            _process: process,
            _profile: profile,
        })
    }

    /// Sends one command and waits for its answer (events are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let command = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .with_context(|| format!("sending {method}"))?;
        let answer = tokio::time::timeout(COMMAND, async {
            while let Some(message) = self.socket.next().await {
                let Message::Text(text) = message? else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text)?;
                if value["id"] == id {
                    return Ok(value);
                }
            }
            bail!("the DevTools socket closed")
        })
        .await
        .with_context(|| format!("no answer to {method} within {COMMAND:?}"))??;
        if let Some(error) = answer.get("error") {
            bail!("{method}: {error}");
        }
        Ok(answer["result"].clone())
    }

    /// The value of a JavaScript expression in the page.
    pub async fn evaluate(&mut self, expression: &str) -> anyhow::Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(exception) = result.get("exceptionDetails") {
            bail!("{expression}: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// What the page shows, as text.
    pub async fn text(&mut self) -> anyhow::Result<String> {
        let value = self
            .evaluate("document.body ? document.body.innerText : ''")
            .await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Lays the page out `width` CSS pixels wide (a phone when `mobile`).
    pub async fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> anyhow::Result<()> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await
        .map(drop)
    }

    /// Saves what the page looks like as a PNG at `path`.
    pub async fn screenshot(&mut self, path: &Path) -> anyhow::Result<()> {
        let result = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        let data = result["data"].as_str().context("a screenshot's data")?;
        let png = base64::engine::general_purpose::STANDARD.decode(data)?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}

/// Chromium writes the port it chose to `DevToolsActivePort` in its profile.
async fn debugging_port(profile: &Path, process: &Process) -> anyhow::Result<u16> {
    let file = profile.join("DevToolsActivePort");
    let deadline = tokio::time::Instant::now() + STARTUP;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(port) = text
                .lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
            {
                return Ok(port);
            }
        }
        if !process.is_running() || tokio::time::Instant::now() > deadline {
            bail!(
                "Chromium did not open its debugging port within {STARTUP:?}; its output:\n{}",
                process.output_so_far()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The WebSocket URL of the first page target (the URL Chromium opened).
async fn page_target(port: u16) -> anyhow::Result<String> {
    let list = format!("http://127.0.0.1:{port}/json/list");
    let deadline = tokio::time::Instant::now() + STARTUP;
    loop {
        let targets: Option<Vec<Value>> = match reqwest::get(&list).await {
            Ok(response) => response
                .text()
                .await
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok()),
            Err(_) => None,
        };
        let page = targets
            .into_iter()
            .flatten()
            .find(|target| target["type"] == "page" && target["webSocketDebuggerUrl"].is_string());
        if let Some(page) = page {
            return Ok(page["webSocketDebuggerUrl"]
                .as_str()
                .unwrap_or_default()
                .to_string());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("Chromium listed no page at {list} within {STARTUP:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
