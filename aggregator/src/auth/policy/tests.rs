use super::*;
use crate::auth::tokens::TokenTable;

// printf %s hello | sha256sum ; printf %s world | sha256sum
const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const WORLD: &str = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7";

fn policy() -> AuthPolicy {
    let tokens =
        TokenTable::parse(&format!("operator alice {HELLO}\nviewer grafana {WORLD}")).unwrap();
    let certificates = vec![CertificateRole {
        san: "spiffe://greenlight/people/bob".into(),
        role: Role::Operator,
        binding: None,
    }];
    AuthPolicy::enforced(tokens, certificates, true)
}

fn token(token: &str) -> Presented<'_> {
    Presented {
        bearer: Ok(Some(token)),
        peer: None,
    }
}

fn certificate(peer: &PeerIdentity) -> Presented<'_> {
    Presented {
        bearer: Ok(None),
        peer: Some(peer),
    }
}

fn uri(uri: &str) -> PeerIdentity {
    PeerIdentity {
        uris: vec![uri.into()],
        dns_names: vec![],
    }
}

const NOTHING: Presented<'static> = Presented {
    bearer: Ok(None),
    peer: None,
};

#[test]
fn no_credentials_is_unauthenticated_and_says_what_would_do() {
    let error = policy()
        .authorize(NOTHING, Action::Read, "GetVerdict")
        .unwrap_err();
    let AuthError::Unauthenticated(text) = error else {
        panic!("{error:?}")
    };
    assert!(text.contains("--token-file"), "{text}");
}

#[test]
fn an_unknown_token_or_a_malformed_header_is_unauthenticated() {
    for presented in [
        token("nope"),
        Presented {
            bearer: Err("Basic abc"),
            peer: None,
        },
    ] {
        assert!(matches!(
            policy().authorize(presented, Action::Read, "GetVerdict"),
            Err(AuthError::Unauthenticated(_))
        ));
    }
}

#[test]
fn a_viewer_reads_but_may_not_roll_back() {
    let policy = policy();
    assert!(
        policy
            .authorize(token("world"), Action::Read, "GetVerdict")
            .is_ok()
    );
    let error = policy
        .authorize(token("world"), Action::Control, "Rollback")
        .unwrap_err();
    assert_eq!(
        error,
        AuthError::PermissionDenied(
            "grafana (viewer, token) may not call Rollback: that needs the operator role".into()
        )
    );
}

#[test]
fn an_operator_is_known_by_token_or_mapped_certificate() {
    let policy = policy();
    let by_token = policy
        .authorize(token("hello"), Action::Control, "Rollback")
        .unwrap();
    assert_eq!(by_token.requester(""), "alice (operator, token)");
    let bob = uri("spiffe://greenlight/people/bob");
    let by_certificate = policy
        .authorize(certificate(&bob), Action::Control, "Rollback")
        .unwrap();
    assert_eq!(
        by_certificate.requester("someone else"),
        "spiffe://greenlight/people/bob (operator, certificate), for \"someone else\""
    );
}

#[test]
fn an_agent_certificate_binds_its_identity_and_may_only_report() {
    let policy = policy();
    let green = uri("spiffe://greenlight/escashop/green/green-1");
    let caller = policy
        .authorize(certificate(&green), Action::Report, "Stream")
        .unwrap();
    assert_eq!(
        caller.binding().map(ToString::to_string).as_deref(),
        Some("escashop/green/green-1")
    );
    assert!(matches!(
        policy.authorize(certificate(&green), Action::Control, "Cutover"),
        Err(AuthError::PermissionDenied(_))
    ));
}

#[test]
fn a_certificate_with_no_role_is_denied_naming_its_names() {
    let stranger = PeerIdentity {
        uris: vec![],
        dns_names: vec!["ci.internal".into()],
    };
    let error = policy()
        .authorize(certificate(&stranger), Action::Read, "GetVerdict")
        .unwrap_err();
    let AuthError::PermissionDenied(text) = error else {
        panic!("{error:?}")
    };
    assert!(text.contains("ci.internal"), "{text}");
}

#[test]
fn without_auth_anyone_may_but_an_agent_certificate_still_binds() {
    let open = AuthPolicy::open();
    let caller = open
        .authorize(NOTHING, Action::Control, "Rollback")
        .unwrap();
    assert_eq!(caller.binding(), None);
    let blue = uri("spiffe://greenlight/escashop/blue/blue-1");
    let caller = open
        .authorize(certificate(&blue), Action::Report, "Stream")
        .unwrap();
    assert_eq!(
        caller.binding().map(ToString::to_string).as_deref(),
        Some("escashop/blue/blue-1")
    );
    assert!(open.health_open());
}

#[test]
fn without_auth_a_person_certificate_of_another_form_reads_but_does_not_report() {
    let open = AuthPolicy::open();
    let person = uri("spiffe://greenlight/operator/e2e");
    assert!(
        open.authorize(certificate(&person), Action::Read, "GetVerdict")
            .is_ok()
    );
    assert!(matches!(
        open.authorize(certificate(&person), Action::Report, "Stream"),
        Err(AuthError::PermissionDenied(_))
    ));
}
