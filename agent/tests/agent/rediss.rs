//! `rediss://` end to end: the agent binary against a real redis-server
//! speaking TLS with a certificate from a test CA. Trusted (the CA given
//! through `SSL_CERT_FILE`, which the system-roots loader honours) the
//! check passes; untrusted it fails: certificates are checked.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Writes `ca.pem`, `server.pem` and `server.key` (for 127.0.0.1) to `dir`.
fn certificates(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "greenlight test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

fn tls_redis(dir: &Path, port: u16) -> Killed {
    let child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("server.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .args(["--tls-auth-clients", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (tests/run.sh installs it)");
    let redis = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    redis
}

/// The agent binary checking `rediss://127.0.0.1:<port>`; its face's port.
fn agent(dir: &Path, name: &str, redis_port: u16, trust: Option<&Path>) -> (Killed, u16) {
    let face = free_port();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "aggregator = \"http://127.0.0.1:{}\"\ndeployment = \"escashop\"\ncolor = \"green\"\n\
             instance_id = \"{name}\"\ninterval = \"200ms\"\nlisten = \"127.0.0.1:{face}\"\n\
             [checks.redis]\nurl = \"rediss://127.0.0.1:{redis_port}\"\n",
            free_port()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_greenlight-agent"));
    command
        .arg("--config")
        .arg(&config)
        .env_remove("SSL_CERT_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match trust {
        Some(ca) => command.env("SSL_CERT_FILE", ca),
        None => command.env_remove("SSL_CERT_FILE"),
    };
    (Killed(command.spawn().unwrap()), face)
}

/// The redis entry of the agent's `/health` once it has one.
async fn redis_entry(face: u16) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = async {
            let text = reqwest::get(format!("http://127.0.0.1:{face}/health"))
                .await?
                .text()
                .await?;
            anyhow::Ok(serde_json::from_str::<serde_json::Value>(&text)?)
        };
        if let Ok(health) = health.await {
            let entry = &health["checks"]["redis:responseTime"][0];
            if entry["status"] == "pass" || entry["status"] == "fail" {
                return entry.clone();
            }
        }
        assert!(Instant::now() < deadline, "no redis result on port {face}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rediss_checks_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = free_port();
    let _redis = tls_redis(dir.path(), port);

    let ca = dir.path().join("ca.pem");
    let (_trusting, face) = agent(dir.path(), "trusting", port, Some(&ca));
    let entry = redis_entry(face).await;
    assert_eq!(
        entry["status"], "pass",
        "over TLS with a trusted CA: {entry}"
    );

    let (_doubting, face) = agent(dir.path(), "doubting", port, None);
    let entry = redis_entry(face).await;
    assert_eq!(entry["status"], "fail", "an unknown CA is refused: {entry}");
    println!("untrusted certificate: {}", entry["output"]);
}
