//! Which agent identities a credential may report for: one
//! (deployment, color, instance), or every instance of one color.
//! Written `escashop/green/green-1` or `escashop/green/*` in the tokens
//! file and the certificate mapping, and carried by an agent's certificate
//! as the URI SAN `spiffe://greenlight/escashop/green/green-1`.

use std::fmt;

use greenlight_proto::v1::{Color, Hello};

/// The URI SAN prefix an agent's certificate names its identity with.
pub const SPIFFE_PREFIX: &str = "spiffe://greenlight/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentBinding {
    pub deployment: String,
    pub color: Color,
    /// `None`: any instance of that deployment and color (`*`).
    pub instance: Option<String>,
}

impl AgentBinding {
    /// `deployment/color/instance`, the instance `*` for any.
    pub fn parse(text: &str) -> Result<AgentBinding, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let [deployment, color, instance] = parts[..] else {
            return Err(format!(
                "{text:?} is not deployment/color/instance (e.g. escashop/green/green-1, or escashop/green/* for every instance)"
            ));
        };
        crate::engine::validate_deployment_name(deployment)
            .map_err(|reason| format!("{text:?}: the deployment {reason}"))?;
        let color = match color {
            "blue" => Color::Blue,
            "green" => Color::Green,
            other => {
                return Err(format!("{text:?}: the color is {other:?}; blue or green"));
            }
        };
        let instance = match instance {
            "*" => None,
            "" => return Err(format!("{text:?}: the instance is empty (write * for any)")),
            name => Some(name.to_string()),
        };
        Ok(AgentBinding {
            deployment: deployment.to_string(),
            color,
            instance,
        })
    }

    /// The binding an agent certificate's URI SAN names, if it is one of
    /// ours (`spiffe://greenlight/<deployment>/<color>/<instance>`).
    pub fn from_spiffe(uri: &str) -> Option<Result<AgentBinding, String>> {
        let rest = uri.strip_prefix(SPIFFE_PREFIX)?;
        Some(
            AgentBinding::parse(rest).and_then(|binding| match binding.instance {
                Some(_) => Ok(binding),
                None => Err(format!("{uri:?}: a certificate names one instance, not *")),
            }),
        )
    }

    /// Whether a Hello claims an identity this binding covers.
    pub fn allows(&self, hello: &Hello) -> bool {
        hello.deployment == self.deployment
            && hello.color == self.color as i32
            && self
                .instance
                .as_ref()
                .is_none_or(|instance| *instance == hello.instance_id)
    }
}

impl fmt::Display for AgentBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.deployment,
            greenlight_proto::names::color_name(self.color),
            self.instance.as_deref().unwrap_or("*")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(deployment: &str, color: Color, instance: &str) -> Hello {
        Hello {
            deployment: deployment.into(),
            color: color as i32,
            instance_id: instance.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_binding_covers_its_identity_only() {
        let one = AgentBinding::parse("escashop/blue/blue-1").unwrap();
        assert!(one.allows(&hello("escashop", Color::Blue, "blue-1")));
        assert!(!one.allows(&hello("escashop", Color::Green, "blue-1")));
        assert!(!one.allows(&hello("escashop", Color::Blue, "blue-2")));
        assert!(!one.allows(&hello("other", Color::Blue, "blue-1")));
        let any = AgentBinding::parse("escashop/green/*").unwrap();
        assert!(any.allows(&hello("escashop", Color::Green, "anything")));
        assert!(!any.allows(&hello("escashop", Color::Blue, "anything")));
        assert_eq!(any.to_string(), "escashop/green/*");
    }

    #[test]
    fn bad_bindings_say_why() {
        for (text, says) in [
            ("escashop/green", "deployment/color/instance"),
            ("escashop/red/x", "blue or green"),
            ("esca shop/blue/x", "deployment"),
            ("escashop/blue/", "empty"),
        ] {
            let error = AgentBinding::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn certificates_name_one_instance_in_our_spiffe_form() {
        assert_eq!(
            AgentBinding::from_spiffe("spiffe://greenlight/escashop/green/green-1"),
            Some(AgentBinding::parse("escashop/green/green-1"))
        );
        assert!(
            AgentBinding::from_spiffe("spiffe://greenlight/escashop/green/*")
                .unwrap()
                .is_err()
        );
        assert_eq!(AgentBinding::from_spiffe("spiffe://other/x/y/z"), None);
    }
}
