//! `[tls]` and `redis.ca`: the files are read when the config is, and a
//! bad one is refused naming its key, the file and why; `rediss://`
//! options are checked against the URL.

use super::*;

/// A self-signed certificate for 127.0.0.1 and its key, as files in a
/// fresh directory; (dir, cert, key).
pub(super) fn certificate() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (dir, cert, key)
}

pub(super) fn tls_section(cert: &Path, key: &Path, extra: &str) -> String {
    format!(
        "[tls]\ncert = {:?}\nkey = {:?}\n{extra}\n",
        cert.display().to_string(),
        key.display().to_string()
    )
}

#[test]
fn tls_loads_and_says_what_it_means() {
    let (_dir, cert, key) = certificate();
    let config = load_text(&tls_section(&cert, &key, "poll = \"2s\"")).unwrap();
    let tls = config.tls.as_ref().unwrap();
    assert_eq!(tls.poll, Duration::from_secs(2));
    assert_eq!(tls.files.client_ca, None);
    let summary = config.summary();
    assert!(
        summary.contains("clients are not asked for a certificate"),
        "{summary}"
    );
    let config = load_text(&tls_section(
        &cert,
        &key,
        &format!(
            "client_ca = {:?}\nclient_auth = \"optional\"",
            cert.display().to_string()
        ),
    ))
    .unwrap();
    assert!(
        config.summary().contains("client certificates optional"),
        "{}",
        config.summary()
    );
    assert!(
        load_text("")
            .unwrap()
            .summary()
            .contains("tls: none (plaintext gRPC")
    );
}

#[test]
fn bad_tls_settings_name_their_key() {
    let (dir, cert, key) = certificate();
    let missing = dir.path().join("missing.pem");
    let other_key = dir.path().join("other.key");
    std::fs::write(
        &other_key,
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let cases = [
        (
            format!("[tls]\ncert = {:?}\n", cert.display().to_string()),
            "tls.key",
            "required",
        ),
        (tls_section(&missing, &key, ""), "tls.cert", "cannot read"),
        (
            tls_section(&cert, &other_key, ""),
            "tls.key",
            "does not belong",
        ),
        (
            tls_section(&cert, &key, "client_auth = \"required\""),
            "tls.client_auth",
            "needs tls.client_ca",
        ),
        (
            tls_section(&cert, &key, "client_auth = \"sometimes\""),
            "tls.client_auth",
            "\"sometimes\" is not one of \"required\", \"optional\"",
        ),
        (
            tls_section(
                &cert,
                &key,
                &format!("client_ca = {:?}", key.display().to_string()),
            ),
            "tls.client_ca",
            "no certificate",
        ),
        (
            tls_section(&cert, &key, "poll = \"1ms\""),
            "tls.poll",
            "at least 100ms",
        ),
    ];
    for (text, key, reason) in cases {
        let error = refused(&text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
    }
}

#[test]
fn redis_ca_needs_rediss_and_a_readable_ca() {
    let (dir, cert, _key) = certificate();
    let cert = cert.display().to_string();
    let config = load_text(&format!(
        "[redis]\nurl = \"rediss://:pw@127.0.0.1:6380\"\nca = {cert:?}\n"
    ))
    .unwrap();
    let redis = config.redis.unwrap();
    assert_eq!(redis.ca.as_deref(), Some(Path::new(&cert)));
    let error = refused(&format!(
        "[redis]\nurl = \"redis://127.0.0.1:6380\"\nca = {cert:?}\n"
    ));
    assert_eq!(error.key.as_deref(), Some("redis.ca"));
    assert!(error.reason.contains("not rediss://"), "{error}");
    let missing = dir.path().join("missing.pem").display().to_string();
    let error = refused(&format!(
        "[redis]\nurl = \"rediss://127.0.0.1:6380\"\nca = {missing:?}\n"
    ));
    assert_eq!(error.key.as_deref(), Some("redis.ca"));
    assert!(error.reason.contains("cannot read"), "{error}");
    let error = refused("[redis]\nurl = \"rediss://:s3cret@127.0.0.1:6380/#insecure\"\n");
    assert_eq!(error.key.as_deref(), Some("redis.url"));
    assert!(error.reason.contains("not allowed"), "{error}");
    assert!(!error.reason.contains("s3cret"), "{error}");
}
