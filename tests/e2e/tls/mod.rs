//! TLS end to end, real processes on loopback: the aggregator with `[tls]`
//! (mutual TLS for agents), real agents over `https://`, the CLI with
//! `--ca`, `--cert` and `--key`, and certificates reloaded under a live
//! stream. Every certificate is made by the test ([`TestCa`]).

mod agents;
mod cli;
mod reload;

use std::path::{Path, PathBuf};

use greenlight_proto::v1::Verdict;
use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_testbed::{Issued, TestCa, eventually};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::bed::{Bed, DEPLOYMENT, SETTLE, path_str};

/// The identity an agent's certificate names (what identity binding will
/// match).
pub fn spiffe(color: &str, instance: &str) -> String {
    format!("spiffe://greenlight/{DEPLOYMENT}/{color}/{instance}")
}

/// A test's certificates: one CA for the aggregator's certificate, one for
/// its clients' (agents and the CLI).
pub struct Pki {
    pub dir: PathBuf,
    pub server_ca: PathBuf,
    pub clients_ca: TestCa,
    pub clients_ca_file: PathBuf,
    pub server: Issued,
    /// The CLI's client certificate.
    pub operator: Issued,
    /// The server CA's certificate, PEM, for the test's own clients.
    server_ca_pem: String,
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let server_ca = TestCa::new("greenlight test server CA");
        let clients_ca = TestCa::new("greenlight test clients CA");
        Pki {
            dir: dir.to_path_buf(),
            server_ca: server_ca.write(dir, "server-ca"),
            clients_ca_file: clients_ca.write(dir, "clients-ca"),
            server: server_ca.issue(dir, "server", &["127.0.0.1"], 1),
            operator: clients_ca.issue(dir, "operator", &["spiffe://greenlight/operator/e2e"], 2),
            server_ca_pem: server_ca.pem(),
            clients_ca,
        }
    }

    /// The aggregator's `[tls]` (clients must present a certificate from
    /// the clients' CA) with `extra` lines, and `ready_after = "1s"`.
    pub fn aggregator_sections(&self, extra: &str) -> String {
        format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n{extra}\n[defaults]\nready_after = \"1s\"\n",
            path_str(&self.server.cert),
            path_str(&self.server.key),
            path_str(&self.clients_ca_file),
        )
    }

    /// A certificate for the agent `instance` of `color`, from the clients' CA.
    pub fn agent(&self, color: &str, instance: &str, serial: u64) -> Issued {
        self.clients_ca
            .issue(&self.dir, instance, &[&spiffe(color, instance)], serial)
    }

    /// CLI flags trusting `ca` and presenting the operator's certificate.
    pub fn cli_flags<'a>(&'a self, ca: &'a Path) -> Vec<&'a str> {
        vec![
            "--ca",
            path_str(ca),
            "--cert",
            path_str(&self.operator.cert),
            "--key",
            path_str(&self.operator.key),
        ]
    }

    /// A VerdictService client over TLS, as the operator.
    pub async fn verdict_client(&self, bed: &Bed) -> VerdictServiceClient<Channel> {
        VerdictServiceClient::new(self.channel(bed, Some(&self.operator)).await)
    }

    /// A TLS channel to the bed's aggregator, trusting its CA, presenting
    /// `identity` (or no client certificate).
    pub async fn channel(&self, bed: &Bed, identity: Option<&Issued>) -> Channel {
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.server_ca_pem));
        if let Some(issued) = identity {
            tls = tls.identity(Identity::from_pem(
                std::fs::read(&issued.cert).unwrap(),
                std::fs::read(&issued.key).unwrap(),
            ));
        }
        let endpoint = Endpoint::from_shared(https(bed))
            .unwrap()
            .tls_config(tls)
            .unwrap();
        eventually("connecting over TLS", SETTLE, || {
            let endpoint = endpoint.clone();
            async move { endpoint.connect().await }
        })
        .await
    }
}

/// An agent's `[tls]`: trusting `ca`, presenting `issued`.
pub fn agent_tls(ca: &Path, issued: &Issued) -> String {
    format!(
        "[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
        path_str(ca),
        path_str(&issued.cert),
        path_str(&issued.key)
    )
}

/// The bed's aggregator as `https://127.0.0.1:<port>`.
pub fn https(bed: &Bed) -> String {
    format!("https://127.0.0.1:{}", bed.aggregator_port)
}

/// The last sequence the aggregator holds from `instance`.
pub fn last_sequence(verdict: &Verdict, instance: &str) -> Option<u64> {
    verdict
        .agents
        .iter()
        .find(|agent| agent.instance_id == instance)
        .map(|agent| agent.last_sequence)
}
