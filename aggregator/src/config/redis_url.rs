//! `[redis] url`, parsed: one server (`redis://`, `rediss://`), or more
//! than one (without TLS, for now):
//! `redis+sentinel://[[user]:password@]host:port[,host:port...]/<service>[/db]`,
//! the sentinels watching the primary named `<service>` (the password is
//! the Redis servers'; the sentinels are asked without one), and
//! `redis+cluster://[[user]:password@]host:port[,host:port...]`, seed nodes
//! of a Redis Cluster. And the URL as shown, its password hidden.

/// Where Redis is, as the URL says.
#[derive(Debug, Clone)]
pub enum RedisEndpoint {
    /// `redis://` or `rediss://`: one server.
    Single(redis::Client),
    /// `redis+sentinel://`: asked for the current primary at each connect.
    Sentinel(SentinelEndpoint),
    /// `redis+cluster://`: the nodes to learn the cluster's slots from.
    Cluster(ClusterEndpoint),
}

/// The sentinels and the primary they watch.
#[derive(Debug, Clone, PartialEq)]
pub struct SentinelEndpoint {
    /// Host and port of each sentinel, tried in order.
    pub sentinels: Vec<(String, u16)>,
    /// The name the sentinels monitor the primary under.
    pub service: String,
    /// The database selected on the primary.
    pub db: i64,
    /// AUTH for the primary (not for the sentinels).
    pub auth: Auth,
}

/// Seed nodes of a Redis Cluster; the rest is learned from them.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterEndpoint {
    pub nodes: Vec<(String, u16)>,
    /// AUTH for every node.
    pub auth: Auth,
}

/// The user and password of a URL, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Auth {
    pub username: Option<String>,
    pub password: Option<String>,
}

const SENTINEL_FORM: &str =
    "redis+sentinel://[[user]:password@]host:port[,host:port...]/<service-name>[/db]";
const CLUSTER_FORM: &str = "redis+cluster://[[user]:password@]host:port[,host:port...]";

/// The URL parsed; `Err` says why not, to follow the (redacted) URL.
pub(super) fn endpoint(url: &str) -> Result<RedisEndpoint, String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match scheme {
        "redis" | "rediss" => {
            if url.contains("#insecure") {
                return Err(
                    "#insecure (TLS without checking the certificate) is not allowed; \
                     give the CA that signed the server's certificate as redis.ca"
                        .into(),
                );
            }
            redis::Client::open(url)
                .map(RedisEndpoint::Single)
                .map_err(|error| {
                    format!(
                        "is not a usable Redis URL ({error}); write it as \
                     redis://[user:password@]host[:port][/db]"
                    )
                })
        }
        "redis+sentinel" => sentinel(rest).map(RedisEndpoint::Sentinel),
        "redis+cluster" => cluster(rest).map(RedisEndpoint::Cluster),
        "rediss+sentinel" | "rediss+cluster" => Err(format!(
            "{scheme}:// (TLS to sentinels or cluster nodes) is not supported yet; write \
             {}:// on a private network, or rediss:// for one server",
            scheme.replacen("rediss", "redis", 1)
        )),
        _ => Err(format!(
            "must start with redis://, rediss://, redis+sentinel:// ({SENTINEL_FORM}) \
             or redis+cluster:// ({CLUSTER_FORM})"
        )),
    }
}

/// After `redis+sentinel://`: sentinels, service name, database.
fn sentinel(rest: &str) -> Result<SentinelEndpoint, String> {
    let wrong = |why: &str| format!("{why}; write it as {SENTINEL_FORM}");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (auth, hosts) = authority_parts(authority).map_err(|why| wrong(&why))?;
    let mut segments = path.split('/');
    let service = segments.next().unwrap_or_default();
    if service.is_empty() {
        return Err(wrong(
            "names no service (the primary's name in the sentinels' config)",
        ));
    }
    let db = match segments.next() {
        None | Some("") => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| wrong(&format!("database {db:?} is not a number")))?,
    };
    if segments.any(|segment| !segment.is_empty()) {
        return Err(wrong("has more after the database"));
    }
    Ok(SentinelEndpoint {
        sentinels: hosts,
        service: service.to_string(),
        db,
        auth,
    })
}

/// After `redis+cluster://`: the seed nodes (a cluster has only database 0).
fn cluster(rest: &str) -> Result<ClusterEndpoint, String> {
    let wrong = |why: &str| format!("{why}; write it as {CLUSTER_FORM}");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() {
        return Err(wrong("has a path, but a Redis Cluster has only database 0"));
    }
    let (auth, nodes) = authority_parts(authority).map_err(|why| wrong(&why))?;
    Ok(ClusterEndpoint { nodes, auth })
}

/// `[[user]:password@]host:port[,host:port...]`, decoded.
fn authority_parts(authority: &str) -> Result<(Auth, Vec<(String, u16)>), String> {
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let auth = match userinfo {
        None => Auth::default(),
        Some(userinfo) => {
            let Some((user, password)) = userinfo.split_once(':') else {
                return Err("has a user without a password (user:password@ or :password@)".into());
            };
            Auth {
                username: Some(decoded(user)?).filter(|user| !user.is_empty()),
                password: Some(decoded(password)?).filter(|password| !password.is_empty()),
            }
        }
    };
    let hosts = hosts
        .split(',')
        .map(host_port)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((auth, hosts))
}

/// `host:port` or `[v6]:port`.
fn host_port(text: &str) -> Result<(String, u16), String> {
    let missing = || format!("{text:?} is not host:port");
    let (host, port) = text.rsplit_once(':').ok_or_else(missing)?;
    let host = host
        .strip_prefix('[')
        .and_then(|v6| v6.strip_suffix(']'))
        .unwrap_or(host);
    let port = port.parse::<u16>().ok().filter(|port| *port > 0);
    match port {
        Some(port) if !host.is_empty() => Ok((host.to_string(), port)),
        _ => Err(missing()),
    }
}

fn decoded(text: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| "has a user or password that is not UTF-8 once %-decoded".into())
}

/// `url` with its password (if any) replaced by `***`.
pub(super) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::RedisSettings;

    /// Read through the settings, as the config loader does.
    fn default_ttl() -> Duration {
        Duration::from_secs(15)
    }

    fn endpoint_of(url: &str) -> RedisEndpoint {
        RedisSettings::new(url.into(), default_ttl(), 5)
            .unwrap()
            .endpoint()
            .clone()
    }

    fn refusal(url: &str) -> String {
        RedisSettings::new(url.into(), default_ttl(), 5)
            .unwrap_err()
            .reason
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_service_and_the_primarys_auth() {
        let RedisEndpoint::Sentinel(sentinel) =
            endpoint_of("redis+sentinel://:p%40ss@127.0.0.1:26379,[::1]:26380/mymaster/2")
        else {
            panic!("not a sentinel endpoint");
        };
        assert_eq!(
            sentinel,
            SentinelEndpoint {
                sentinels: vec![("127.0.0.1".into(), 26379), ("::1".into(), 26380)],
                service: "mymaster".into(),
                db: 2,
                auth: Auth {
                    username: None,
                    password: Some("p@ss".into()),
                },
            }
        );
        let RedisEndpoint::Sentinel(sentinel) =
            endpoint_of("redis+sentinel://greenlight:pw@sentinel.internal:26379/mymaster")
        else {
            panic!("not a sentinel endpoint");
        };
        assert_eq!(sentinel.db, 0);
        assert_eq!(sentinel.auth.username.as_deref(), Some("greenlight"));
    }

    #[test]
    fn a_cluster_url_names_its_seed_nodes() {
        let RedisEndpoint::Cluster(cluster) =
            endpoint_of("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
        else {
            panic!("not a cluster endpoint");
        };
        assert_eq!(
            cluster.nodes,
            vec![("127.0.0.1".into(), 7000), ("127.0.0.1".into(), 7001)]
        );
        assert_eq!(cluster.auth, Auth::default());
    }

    #[test]
    fn malformed_multi_server_urls_are_refused_saying_the_form() {
        for (url, says) in [
            ("redis+sentinel://127.0.0.1:26379", "names no service"),
            ("redis+sentinel://127.0.0.1:26379/", "names no service"),
            ("redis+sentinel://127.0.0.1/mymaster", "is not host:port"),
            ("redis+sentinel://h:1,,h:2/mymaster", "is not host:port"),
            ("redis+sentinel://h:1/mymaster/x", "is not a number"),
            (
                "redis+sentinel://h:1/mymaster/1/2",
                "more after the database",
            ),
            ("redis+cluster://h:7000/1", "only database 0"),
            ("redis+cluster://h:0", "is not host:port"),
            ("redis+cluster://user@h:7000", "without a password"),
            ("rediss+sentinel://h:1/mymaster", "not supported yet"),
            ("rediss+cluster://h:1", "write redis+cluster://"),
            ("http://h:1", "redis+sentinel:// (redis+sentinel://[[user]"),
        ] {
            let reason = refusal(url);
            assert!(reason.contains(says), "{url}: {reason}");
        }
    }

    #[test]
    fn multi_server_urls_are_shown_without_their_password() {
        let settings = RedisSettings::new(
            "redis+sentinel://admin:s3cret@h1:26379,h2:26379/mymaster/1".into(),
            default_ttl(),
            5,
        )
        .unwrap();
        assert_eq!(
            settings.shown_url(),
            "redis+sentinel://admin:***@h1:26379,h2:26379/mymaster/1"
        );
        let reason = refusal("redis+cluster://:s3cret@h1:7000/9");
        assert!(!reason.contains("s3cret"), "{reason}");
        assert!(reason.contains(":***@"), "{reason}");
    }
}
