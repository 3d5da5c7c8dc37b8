//! Where the aggregator is and how to speak to it: `--aggregator` parsed
//! (`host:port` and `http://` are plaintext, `https://` is TLS, nothing
//! else), the TLS files read, and the bearer token found. `https://` is
//! TLS or an error, never plaintext. Anything wrong here is a usage error
//! (exit 2) that says what would do.

use std::fmt;
use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::exit::{Failure, USAGE};

/// The environment variable a token is read from when there is no
/// `--token-file` (a token in argv would show in `ps`).
pub const TOKEN_ENV: &str = "GREENLIGHT_TOKEN";

/// What the flags say about the connection.
#[derive(Debug, Default)]
pub struct Flags {
    pub aggregator: String,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    /// The value of [`TOKEN_ENV`], if set.
    pub token_env: Option<String>,
}

/// The aggregator, checked: a URL tonic accepts, TLS when it is `https://`.
pub struct Target {
    /// `http://host:port` or `https://host:port`: connected to and shown.
    url: String,
    tls: Option<ClientTlsConfig>,
    /// Whether `--cert` was given: a broken call over TLS without one may
    /// be an aggregator that requires client certificates.
    client_certificate: bool,
    token: Option<MetadataValue<Ascii>>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl Target {
    pub fn new(flags: Flags) -> Result<Target, Failure> {
        let (url, tls) = url_of(&flags.aggregator).map_err(usage)?;
        let tls = match tls {
            true => Some(tls_config(&url, &flags)?),
            false => {
                if let Some(flag) = [
                    ("--ca", &flags.ca),
                    ("--cert", &flags.cert),
                    ("--key", &flags.key),
                ]
                .iter()
                .find_map(|(flag, value)| value.as_ref().map(|_| flag))
                {
                    return Err(usage(format!(
                        "{flag} is for TLS, but --aggregator {url} is plaintext: write https://"
                    )));
                }
                None
            }
        };
        let client_certificate = flags.cert.is_some();
        let token = token(&flags)?;
        if token.is_some() && tls.is_none() {
            eprintln!(
                "greenlight: warning: sending the token over plaintext {url}; anyone on the path can read it (use https://)"
            );
        }
        Ok(Target {
            url,
            tls,
            client_certificate,
            token,
        })
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A failed call as the user reads it. Over TLS without a client
    /// certificate, a call that broke without saying why gets a hint: TLS
    /// 1.3 refuses a missing certificate after the handshake, and the
    /// alert may be lost.
    pub fn failure(&self, status: &tonic::Status) -> Failure {
        let hint = (self.is_tls() && !self.client_certificate).then_some(
            "no --cert was given: if the aggregator requires client certificates, give --cert and --key",
        );
        Failure::from_status(self, status, hint)
    }

    /// The endpoint to connect to, with TLS configured for `https://`.
    pub fn endpoint(&self) -> Result<Endpoint, Failure> {
        let endpoint = Endpoint::from_shared(self.url.clone()).map_err(|error| {
            usage(format!(
                "--aggregator {}: not a usable address ({error}); {ACCEPTED}",
                self.url
            ))
        })?;
        match &self.tls {
            Some(tls) => endpoint.tls_config(tls.clone()).map_err(|error| {
                usage(format!(
                    "TLS for {}: {} (check --ca, --cert and --key)",
                    self.url,
                    crate::transport_error::source_chain(&error)
                ))
            }),
            None => Ok(endpoint),
        }
    }

    /// Adds `authorization: Bearer <token>` to every call, when there is one.
    pub fn credentials(&self) -> Credentials {
        Credentials(self.token.clone())
    }
}

/// The interceptor every call goes through.
#[derive(Clone)]
pub struct Credentials(Option<MetadataValue<Ascii>>);

impl Interceptor for Credentials {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

const ACCEPTED: &str = "use host:port or http://host:port (plaintext), or https://host:port (TLS)";

fn usage(message: impl Into<String>) -> Failure {
    Failure::new(USAGE, message)
}

/// The URL to connect to, and whether it is TLS.
fn url_of(given: &str) -> Result<(String, bool), String> {
    let text = given.trim();
    let refused = |why: &str| format!("--aggregator {given:?}: {why}; {ACCEPTED}");
    // A bare host:port must say its port; a URL may leave it to its scheme.
    let (scheme, rest, port_required) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest, false),
        None => ("http".to_string(), text, true),
    };
    let tls = match scheme.as_str() {
        "http" => false,
        "https" => true,
        other => return Err(refused(&format!("the scheme {other}:// is not accepted"))),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(refused("expected a host and a port only"));
    }
    // The port is after the last colon outside an IPv6 literal's brackets.
    let port = authority
        .rsplit_once(':')
        .filter(|(host, _)| !host.is_empty() && (!host.starts_with('[') || host.ends_with(']')))
        .map(|(_, port)| port);
    match port {
        Some(port) if port.parse::<u16>().is_err() => {
            return Err(refused(&format!("{port:?} is not a port")));
        }
        None if port_required => return Err(refused("no port")),
        _ => {}
    }
    let scheme = if tls { "https" } else { "http" };
    Ok((format!("{scheme}://{authority}"), tls))
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|error| {
        usage(format!(
            "{flag} {}: cannot read it: {error}",
            path.display()
        ))
    })
}

fn tls_config(url: &str, flags: &Flags) -> Result<ClientTlsConfig, Failure> {
    let mut tls = ClientTlsConfig::new();
    tls = match &flags.ca {
        Some(ca) => {
            let pem = read("--ca", ca)?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(usage(format!(
                    "--ca {}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)",
                    ca.display()
                )));
            }
            tls.ca_certificate(Certificate::from_pem(pem))
        }
        None => tls.with_native_roots(),
    };
    tls = match (&flags.cert, &flags.key) {
        (Some(cert), Some(key)) => tls.identity(Identity::from_pem(
            read("--cert", cert)?,
            read("--key", key)?,
        )),
        (None, None) => tls,
        (Some(_), None) => return Err(usage("--cert needs --key (the certificate's private key)")),
        (None, Some(_)) => return Err(usage("--key needs --cert (the client certificate)")),
    };
    // An IPv6 literal is verified without its brackets.
    if let Some(host) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix('['))
        .and_then(|rest| rest.split_once(']'))
        .map(|(host, _)| host)
    {
        tls = tls.domain_name(host);
    }
    Ok(tls)
}

/// `--token-file` (first line, trimmed), else `GREENLIGHT_TOKEN`.
fn token(flags: &Flags) -> Result<Option<MetadataValue<Ascii>>, Failure> {
    let (text, from) = match (&flags.token_file, &flags.token_env) {
        (Some(path), _) => {
            let bytes = read("--token-file", path)?;
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            (text, format!("--token-file {}", path.display()))
        }
        (None, Some(text)) => (text.trim().to_string(), TOKEN_ENV.to_string()),
        (None, None) => return Ok(None),
    };
    greenlight_proto::bearer::authorization(&text)
        .map(Some)
        .map_err(|problem| usage(format!("{from}: {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_http_and_https_are_accepted() {
        assert_eq!(
            url_of("localhost:7070").unwrap(),
            ("http://localhost:7070".into(), false)
        );
        assert_eq!(
            url_of("http://127.0.0.1:7070").unwrap(),
            ("http://127.0.0.1:7070".into(), false)
        );
        assert_eq!(
            url_of("https://agg.internal:443/").unwrap(),
            ("https://agg.internal:443".into(), true)
        );
        assert_eq!(
            url_of("[::1]:7070").unwrap(),
            ("http://[::1]:7070".into(), false)
        );
    }

    #[test]
    fn anything_else_says_what_is_accepted() {
        assert_eq!(
            url_of("https://agg.internal").unwrap(),
            ("https://agg.internal".into(), true)
        );
        for bad in [
            "ftp://x",
            "localhost",
            "http://host:port",
            "http://a:1/path",
            "",
            "https://",
        ] {
            let error = url_of(bad).unwrap_err();
            assert!(error.contains(ACCEPTED), "{bad}: {error}");
        }
        assert!(
            url_of("ftp://x")
                .unwrap_err()
                .contains("ftp:// is not accepted")
        );
    }

    #[test]
    fn tls_flags_with_a_plaintext_address_are_a_usage_error() {
        let failure = Target::new(Flags {
            aggregator: "http://127.0.0.1:7070".into(),
            ca: Some("ca.pem".into()),
            ..Flags::default()
        })
        .err()
        .unwrap();
        assert_eq!(failure.code, USAGE);
        assert!(
            failure.message.contains("--ca is for TLS"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn the_token_file_wins_and_is_sent_as_a_bearer_token() {
        let dir = std::env::temp_dir().join(format!("greenlight-cli-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let target = Target::new(Flags {
            aggregator: "https://127.0.0.1:7070".into(),
            token_file: Some(file.clone()),
            token_env: Some("from-env".into()),
            ..Flags::default()
        })
        .unwrap();
        let request = target.credentials().call(tonic::Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer s3cret"
        );
        std::fs::write(&file, "\n").unwrap();
        let failure = Target::new(Flags {
            aggregator: "https://127.0.0.1:7070".into(),
            token_file: Some(file),
            ..Flags::default()
        })
        .err()
        .unwrap();
        assert!(
            failure.message.contains("the token is empty"),
            "{}",
            failure.message
        );
        let target = Target::new(Flags {
            aggregator: "https://127.0.0.1:7070".into(),
            token_env: Some("from-env".into()),
            ..Flags::default()
        })
        .unwrap();
        let request = target.credentials().call(tonic::Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer from-env"
        );
    }
}
