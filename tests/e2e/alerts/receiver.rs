//! An HTTP receiver in the test: every JSON body POSTed to it, by path.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::Uri;
use serde_json::Value;
use tokio::net::TcpListener;

type Received = Arc<Mutex<Vec<(String, Value)>>>;

pub struct Receiver {
    pub url: String,
    received: Received,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Received::default();
        let store = received.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, Json(body): Json<Value>| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((uri.path().to_string(), body));
                "ok"
            }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the receiver serves");
        });
        Receiver {
            url,
            received,
            _server: server,
        }
    }

    /// The bodies POSTed to `path` so far, oldest first.
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| body.clone())
            .collect()
    }
}
