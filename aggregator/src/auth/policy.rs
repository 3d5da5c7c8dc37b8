//! Deciding who a caller is and whether they may do what they ask: pure,
//! from what the call carried (a bearer token, the client certificate's
//! names). The gRPC shell (`grpc`) reads those off the request and turns
//! a refusal into a status.

use super::binding::AgentBinding;
use super::role::{Action, Caller, Principal, Proof, Role};
use super::tokens::TokenTable;
use crate::tls::PeerIdentity;

/// A client certificate mapped to a role: `[[auth.certificate]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRole {
    /// A URI or DNS SAN, matched exactly.
    pub san: String,
    pub role: Role,
    /// For an agent: what it may report for.
    pub binding: Option<AgentBinding>,
}

/// Why a call was refused; the text says what would do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or ones nobody here issued.
    #[error("{0}")]
    Unauthenticated(String),
    /// Known, but not allowed this.
    #[error("{0}")]
    PermissionDenied(String),
}

#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    /// `None`: no `[auth]`, nobody is asked.
    enforced: Option<Enforced>,
}

#[derive(Debug, Clone)]
struct Enforced {
    tokens: TokenTable,
    certificates: Vec<CertificateRole>,
    /// grpc.health.v1 without credentials.
    health_open: bool,
}

/// What a call carried.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The bearer token; `Err` when `authorization` was there but not
    /// `Bearer <token>`.
    pub bearer: Result<Option<&'a str>, &'a str>,
    /// The verified client certificate's names.
    pub peer: Option<&'a PeerIdentity>,
}

impl AuthPolicy {
    /// Nobody is asked for credentials.
    pub fn open() -> AuthPolicy {
        AuthPolicy { enforced: None }
    }

    pub fn enforced(
        tokens: TokenTable,
        certificates: Vec<CertificateRole>,
        health_open: bool,
    ) -> AuthPolicy {
        AuthPolicy {
            enforced: Some(Enforced {
                tokens,
                certificates,
                health_open,
            }),
        }
    }

    pub fn is_enforced(&self) -> bool {
        self.enforced.is_some()
    }

    /// Whether grpc.health.v1 answers without credentials.
    pub fn health_open(&self) -> bool {
        self.enforced.as_ref().is_none_or(|e| e.health_open)
    }

    /// Who is calling, if they may do `action` (`call` names it in the
    /// refusal, e.g. "Rollback").
    pub fn authorize(
        &self,
        presented: Presented<'_>,
        action: Action,
        call: &str,
    ) -> Result<Caller, AuthError> {
        let Some(enforced) = &self.enforced else {
            // Only an agent is bound; a person's certificate may carry a
            // spiffe://greenlight/ name of another form.
            let binding = match action {
                Action::Report => certificate_binding(presented.peer)
                    .transpose()
                    .map_err(AuthError::PermissionDenied)?,
                Action::Read | Action::Control => None,
            };
            return Ok(Caller::Unchecked { binding });
        };
        let principal = enforced.authenticate(presented)?;
        if principal.role.may(action) {
            Ok(Caller::Known(principal))
        } else {
            Err(AuthError::PermissionDenied(format!(
                "{principal} may not call {call}: that needs the {} role",
                action.needs()
            )))
        }
    }
}

impl Enforced {
    fn authenticate(&self, presented: Presented<'_>) -> Result<Principal, AuthError> {
        match presented.bearer {
            Err(scheme) => {
                return Err(AuthError::Unauthenticated(format!(
                    "the authorization header is {scheme:?}; expected `Bearer <token>`"
                )));
            }
            Ok(Some(token)) => {
                return self.tokens.find(token).cloned().ok_or_else(|| {
                    AuthError::Unauthenticated(
                        "the bearer token is not one this aggregator knows (none in auth.tokens has its hash)"
                            .into(),
                    )
                });
            }
            Ok(None) => {}
        }
        let Some(peer) = presented.peer else {
            return Err(AuthError::Unauthenticated(
                "this aggregator requires credentials: a bearer token (the CLI's --token-file or \
                 GREENLIGHT_TOKEN) or a client certificate it maps to a role"
                    .into(),
            ));
        };
        let names = || peer.uris.iter().chain(&peer.dns_names);
        if let Some(mapped) = self
            .certificates
            .iter()
            .find(|mapped| names().any(|name| *name == mapped.san))
        {
            return Ok(Principal {
                name: mapped.san.clone(),
                role: mapped.role,
                binding: mapped.binding.clone(),
                proof: Proof::Certificate,
            });
        }
        // A spiffe://greenlight/ name of another form is no agent's: it
        // falls through to "no role", which names it.
        if let Some((uri, binding)) = peer
            .uris
            .iter()
            .find_map(|uri| Some((uri, AgentBinding::from_spiffe(uri)?.ok()?)))
        {
            return Ok(Principal {
                name: uri.clone(),
                role: Role::Agent,
                binding: Some(binding),
                proof: Proof::Certificate,
            });
        }
        let shown: Vec<&str> = names().map(String::as_str).collect();
        Err(AuthError::PermissionDenied(format!(
            "the client certificate (names: {}) has no role here: map it in [[auth.certificate]], \
             give an agent the SAN spiffe://greenlight/<deployment>/<color>/<instance>, or use a token",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            }
        )))
    }
}

/// Without `[auth]`, an agent certificate that names an identity still
/// binds the agent to it.
fn certificate_binding(peer: Option<&PeerIdentity>) -> Option<Result<AgentBinding, String>> {
    peer?
        .uris
        .iter()
        .find_map(|uri| AgentBinding::from_spiffe(uri))
}

#[cfg(test)]
mod tests;
