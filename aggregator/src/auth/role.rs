//! Who a caller is and what they may do. Three roles, from the issue's
//! threat model: a viewer reads, an operator also steers, an agent only
//! reports (and only for the identity its credential names).

use std::fmt;

use serde::Deserialize;

use super::binding::AgentBinding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: status, verdict, watch, history.
    Viewer,
    /// Reads, and steers: cutover, rollback, pause, resume.
    Operator,
    /// Reports for one identity (or a pattern of them).
    Agent,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Agent => "agent",
        }
    }

    pub fn may(self, action: Action) -> bool {
        matches!(
            (self, action),
            (Role::Viewer | Role::Operator, Action::Read)
                | (Role::Operator, Action::Control)
                | (Role::Agent, Action::Report)
        )
    }
}

/// What a call asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Control,
    Report,
}

impl Action {
    /// The role that grants it, for the refusal's words.
    pub fn needs(self) -> &'static str {
        match self {
            Action::Read => "viewer or operator",
            Action::Control => "operator",
            Action::Report => "agent",
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Token,
    Certificate,
}

/// A caller the aggregator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// As the history records it: the token's name, or the certificate's SAN.
    pub name: String,
    pub role: Role,
    /// For agents: the identities it may report for.
    pub binding: Option<AgentBinding>,
    pub proof: Proof,
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proof = match self.proof {
            Proof::Token => "token",
            Proof::Certificate => "certificate",
        };
        write!(f, "{} ({}, {proof})", self.name, self.role.name())
    }
}

/// Whoever is calling, as far as the aggregator can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Without `[auth]` nobody is asked for credentials. An agent's
    /// certificate still binds it when it names an identity.
    Unchecked {
        binding: Option<AgentBinding>,
    },
    Known(Principal),
}

impl Caller {
    /// The identities this caller may report for; `None` means any.
    pub fn binding(&self) -> Option<&AgentBinding> {
        match self {
            Caller::Unchecked { binding } => binding.as_ref(),
            Caller::Known(principal) => principal.binding.as_ref(),
        }
    }

    /// Who asked, for the history: from the credential; what the client
    /// wrote in `requested_by` only where there is no credential, marked
    /// as unverified.
    pub fn requester(&self, requested_by: &str) -> String {
        let given = requested_by.trim();
        match self {
            Caller::Known(principal) if given.is_empty() || given == principal.name => {
                principal.to_string()
            }
            Caller::Known(principal) => format!("{principal}, for {given:?}"),
            Caller::Unchecked { .. } if given.is_empty() => {
                "an unnamed client (no [auth])".to_string()
            }
            Caller::Unchecked { .. } => format!("{given} (unverified: no [auth])"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_does_only_its_own() {
        use Action::*;
        assert!(Role::Viewer.may(Read));
        assert!(!Role::Viewer.may(Control));
        assert!(!Role::Viewer.may(Report));
        assert!(Role::Operator.may(Read) && Role::Operator.may(Control));
        assert!(!Role::Operator.may(Report));
        assert!(Role::Agent.may(Report));
        assert!(!Role::Agent.may(Read) && !Role::Agent.may(Control));
    }

    #[test]
    fn the_history_names_the_credential_not_the_field() {
        let alice = Caller::Known(Principal {
            name: "alice".into(),
            role: Role::Operator,
            binding: None,
            proof: Proof::Token,
        });
        assert_eq!(alice.requester(""), "alice (operator, token)");
        assert_eq!(
            alice.requester("bob"),
            "alice (operator, token), for \"bob\""
        );
        let open = Caller::Unchecked { binding: None };
        assert_eq!(open.requester("ci"), "ci (unverified: no [auth])");
    }
}
