//! Who asks for a control call, for the record: `--operator` (or
//! GREENLIGHT_OPERATOR), else $USER, else $LOGNAME, else the login name of
//! this process' uid as the system knows it, else `uid <n>`. Never a
//! made-up name: a history that says "someone" answers nothing.

/// What the operator may be known by, in the order it is believed.
#[derive(Debug, Default)]
pub struct Sources {
    /// `--operator` or GREENLIGHT_OPERATOR.
    pub flag: Option<String>,
    pub user_env: Option<String>,
    pub logname_env: Option<String>,
    /// The uid's name from the user database (getpwuid).
    pub system: Option<String>,
    pub uid: Option<u32>,
}

impl Sources {
    /// This process' sources: its environment, the user database, its uid.
    pub fn of_this_process(flag: Option<String>) -> Sources {
        Sources {
            flag,
            user_env: std::env::var("USER").ok(),
            logname_env: std::env::var("LOGNAME").ok(),
            system: whoami::username().ok(),
            uid: uid(),
        }
    }
}

/// The first non-blank name, trimmed.
pub fn operator(sources: Sources) -> String {
    [
        sources.flag,
        sources.user_env,
        sources.logname_env,
        sources.system,
    ]
    .into_iter()
    .flatten()
    .map(|name| name.trim().to_string())
    .find(|name| !name.is_empty())
    .unwrap_or_else(|| match sources.uid {
        Some(uid) => format!("uid {uid}"),
        None => "an unknown user".to_string(),
    })
}

/// `requested_by` as sent: `alice@buildhost via greenlight`.
pub fn requested_by(operator: &str) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|host| host.trim().to_string())
        .filter(|host| !host.is_empty())
        .or_else(|| whoami::hostname().ok())
        .unwrap_or_else(|| "unknown host".to_string());
    format!("{operator}@{host} via greenlight")
}

/// The uid this process runs as (the owner of its /proc entry).
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|meta| meta.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_user_then_logname_then_the_system() {
        let all = || Sources {
            flag: Some("alice".into()),
            user_env: Some("bob".into()),
            logname_env: Some("carol".into()),
            system: Some("dave".into()),
            uid: Some(1000),
        };
        assert_eq!(operator(all()), "alice");
        assert_eq!(
            operator(Sources {
                flag: None,
                ..all()
            }),
            "bob"
        );
        assert_eq!(
            operator(Sources {
                flag: Some("  ".into()),
                user_env: None,
                ..all()
            }),
            "carol"
        );
        assert_eq!(
            operator(Sources {
                flag: None,
                user_env: Some(String::new()),
                logname_env: None,
                ..all()
            }),
            "dave"
        );
        assert_eq!(
            operator(Sources {
                uid: Some(1000),
                ..Sources::default()
            }),
            "uid 1000"
        );
    }

    #[test]
    fn this_process_is_somebody() {
        let name = operator(Sources {
            user_env: None,
            logname_env: None,
            ..Sources::of_this_process(None)
        });
        assert!(!name.is_empty() && name != "someone", "{name}");
    }
}
