//! `[auth]`: the tokens file read when the config is, and the settings
//! that would leave nobody able to call, or tokens readable on the wire,
//! refused with what would do.

use super::tls::{certificate, tls_section};
use super::*;

// printf %s hello | sha256sum
const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn tokens_file(dir: &Path, text: &str) -> String {
    let path = dir.join("tokens");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn tokens_with_tls_load_and_are_described() {
    let (dir, cert, key) = certificate();
    let tokens = tokens_file(dir.path(), &format!("operator alice {HELLO}\n"));
    let text = format!(
        "{}\n[auth]\ntokens = {tokens:?}\n",
        tls_section(&cert, &key, "")
    );
    let config = load_text(&text).unwrap();
    let auth = config.auth.as_ref().unwrap();
    assert!(auth.policy.is_enforced());
    assert_eq!(auth.token_count, 1);
    assert!(
        config
            .summary()
            .contains("auth: credentials required: 1 tokens")
    );
}

#[test]
fn without_auth_the_summary_says_anyone_can_steer() {
    let config = load_text("").unwrap();
    assert!(config.auth.is_none());
    assert!(
        config
            .summary()
            .contains("anyone who reaches the port can steer")
    );
}

#[test]
fn tokens_over_plaintext_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens_file(dir.path(), &format!("viewer v {HELLO}\n"));
    let error = refused(&format!("[auth]\ntokens = {tokens:?}\n"));
    assert_eq!(error.key.as_deref(), Some("auth.tokens"));
    assert!(error.reason.contains("allow_plaintext"), "{error}");
    let config = load_text(&format!(
        "[auth]\ntokens = {tokens:?}\nallow_plaintext = true\n"
    ))
    .unwrap();
    assert!(config.auth.unwrap().policy.is_enforced());
}

#[test]
fn a_bad_tokens_line_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens_file(dir.path(), "# header\nadmin root 00\n");
    let error = refused(&format!(
        "[auth]\ntokens = {tokens:?}\nallow_plaintext = true\n"
    ));
    assert_eq!(error.key.as_deref(), Some("auth.tokens"));
    assert!(error.reason.contains("line 2: role \"admin\""), "{error}");
}

#[test]
fn auth_that_nobody_could_pass_is_refused() {
    let error = refused("[auth]\n");
    assert_eq!(error.key.as_deref(), Some("auth"));
    assert!(error.reason.contains("nobody could call"), "{error}");
}

#[test]
fn certificate_mappings_need_client_certificates_and_agents_an_identity() {
    let error = refused(
        "[auth]\n[[auth.certificate]]\nsan = \"spiffe://greenlight/people/bob\"\nrole = \"operator\"\n",
    );
    assert_eq!(error.key.as_deref(), Some("auth.certificate[0]"));
    assert!(error.reason.contains("tls.client_ca"), "{error}");

    let (_dir, cert, key) = certificate();
    let with_ca = tls_section(
        &cert,
        &key,
        &format!("client_ca = {:?}", cert.display().to_string()),
    );
    let error = refused(&format!(
        "{with_ca}\n[auth]\n[[auth.certificate]]\nsan = \"dns:agent.internal\"\nrole = \"agent\"\n"
    ));
    assert_eq!(error.key.as_deref(), Some("auth.certificate[0].agent"));
    let config = load_text(&format!(
        "{with_ca}\n[auth]\n[[auth.certificate]]\nsan = \"agent.internal\"\nrole = \"agent\"\nagent = \"escashop/green/*\"\n"
    ))
    .unwrap();
    assert_eq!(config.auth.unwrap().certificates, 1);
}
