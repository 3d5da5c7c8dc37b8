//! The policy applied to gRPC calls: what a request carried (its
//! `authorization` metadata, its connection's client certificate), and a
//! refusal as the status the caller reads.

use std::sync::Arc;

use tonic::{Request, Status};

use super::policy::{AuthError, AuthPolicy, Presented};
use super::role::{Action, Caller};
use crate::tls::peer_identity;

/// Who sent `request`, if they may do `action`; `call` names the method in
/// a refusal. Refusals are logged with the peer's address.
pub fn authorize<T>(
    policy: &AuthPolicy,
    request: &Request<T>,
    action: Action,
    call: &str,
) -> Result<Caller, Status> {
    // Without [auth] only an agent's certificate matters (it binds the
    // agent): a read or control call need not parse the certificate.
    if !policy.is_enforced() && action != Action::Report {
        return Ok(Caller::Unchecked { binding: None });
    }
    let peer = peer_identity(request);
    let header = request
        .metadata()
        .get("authorization")
        .map(|value| value.to_str().unwrap_or("(not ASCII)"));
    let presented = Presented {
        bearer: bearer(header),
        peer: peer.as_ref(),
    };
    policy.authorize(presented, action, call).map_err(|error| {
        tracing::warn!(peer = ?request.remote_addr(), call, %error, "call refused");
        status(error)
    })
}

/// A refusal as gRPC says it.
pub fn status(error: AuthError) -> Status {
    match error {
        AuthError::Unauthenticated(text) => Status::unauthenticated(text),
        AuthError::PermissionDenied(text) => Status::permission_denied(text),
    }
}

/// `Bearer <token>` (the scheme in any case); `Err` with what was there
/// otherwise, cut short (it may be a secret of another scheme).
fn bearer(header: Option<&str>) -> Result<Option<&str>, &str> {
    let Some(header) = header else {
        return Ok(None);
    };
    match header.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(header.split(' ').next().unwrap_or_default()),
    }
}

/// For services that are not ours (grpc.health.v1, reflection): an
/// interceptor that lets a call through when the policy allows `action`.
/// `None` for `action` lets everything through.
pub fn interceptor(
    policy: Arc<AuthPolicy>,
    action: Option<Action>,
    call: &'static str,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request| {
        if let Some(action) = action {
            authorize(&policy, &request, action, call)?;
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_and_anything_else_is_named() {
        assert_eq!(bearer(None), Ok(None));
        assert_eq!(bearer(Some("Bearer abc")), Ok(Some("abc")));
        assert_eq!(bearer(Some("bearer  abc ")), Ok(Some("abc")));
        assert_eq!(bearer(Some("Basic dXNlcjpwYXNz")), Err("Basic"));
        assert_eq!(bearer(Some("Bearer ")), Err("Bearer"));
        assert_eq!(bearer(Some("abc")), Err("abc"));
    }
}
