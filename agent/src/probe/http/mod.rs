//! The `http` check: GET the backend's own `/health` (and
//! `/health/detailed` when configured), each on its kept-alive connection.
//! A 2xx with a healthy body passes; each component the body reports
//! (database, redis, external_apis, websockets) becomes a result of its
//! own. Also the HTTP client the traffic probe uses.

mod client;
mod health_body;

use std::time::Duration;

use greenlight_proto::v1::{CheckKind, CheckResult, CheckStatus, HttpDetail, check_result::Detail};
use hyper::StatusCode;
use tokio::time::Instant;

pub(crate) use self::client::{BodyError, Getter};
use self::health_body::{Component, Health, HealthBody};
use super::{ActiveConnections, Observation, failed, passed};
use crate::config::HttpCheck;

pub(super) const CHECK: CheckKind = CheckKind::Http;

/// More of a health body than this is not read (the connection is then not
/// reused, which is fine for a body that large).
const MAX_HEALTH_BODY: usize = 64 * 1024;

pub(crate) struct HttpProbe {
    health: Getter,
    detailed: Option<Getter>,
    /// Written when `/health/detailed` counts open WebSockets.
    connections: ActiveConnections,
    /// The body buffers, kept between rounds.
    body: Vec<u8>,
    detailed_body: Vec<u8>,
}

/// One GET of a health endpoint.
struct Fetched {
    status: StatusCode,
    latency: Duration,
    /// `None` when the body is not a JSON object (plain "OK" is fine).
    body: Option<HealthBody>,
}

impl HttpProbe {
    pub(crate) fn new(check: &HttpCheck, connections: ActiveConnections) -> Self {
        HttpProbe {
            health: Getter::new(&check.url),
            detailed: check.detailed_url.as_ref().map(Getter::new),
            connections,
            body: Vec::new(),
            detailed_body: Vec::new(),
        }
    }

    /// The check's own result (status code, latency, the body's overall
    /// status), then one result per component the backend reports. Both
    /// endpoints are asked at once: the answers then usually wake the agent
    /// once, not once each.
    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        let (health, detailed) = match &mut self.detailed {
            Some(detailed) => {
                let (health, detailed) = tokio::join!(
                    fetch(&mut self.health, &mut self.body),
                    fetch(detailed, &mut self.detailed_body)
                );
                (health, Some(detailed))
            }
            None => (fetch(&mut self.health, &mut self.body).await, None),
        };
        let health = match health {
            Ok(fetched) => fetched,
            Err(error) => return failed(CHECK, error, started.elapsed()).into(),
        };
        let (results, connections) = results(health, detailed, started.elapsed());
        if let Some(count) = connections {
            self.connections.set(count);
        }
        Observation {
            results,
            counters: None,
        }
    }

    /// After a timeout: the connections may be mid-response.
    pub(crate) fn forget_connections(&mut self) {
        self.health.forget_connection();
        if let Some(detailed) = &mut self.detailed {
            detailed.forget_connection();
        }
    }
}

/// Every component either body reports, each with the latency of the GET
/// it came from: `/health`'s in its order, one that `/health/detailed` also
/// reports taken from there (it says more), then those only the detailed
/// body has. The guide's `/health` has `external_apis`, its detailed one
/// does not; neither alone has them all.
fn merge_components(
    health: Vec<Component>,
    health_latency: Duration,
    detailed: Option<(Vec<Component>, Duration)>,
) -> Vec<(Component, Duration)> {
    let Some((mut detailed, detailed_latency)) = detailed else {
        return health.into_iter().map(|c| (c, health_latency)).collect();
    };
    let mut merged = Vec::with_capacity(health.len() + detailed.len());
    for component in health {
        match detailed.iter().position(|d| d.name == component.name) {
            Some(at) => merged.push((detailed.remove(at), detailed_latency)),
            None => merged.push((component, health_latency)),
        }
    }
    merged.extend(detailed.into_iter().map(|c| (c, detailed_latency)));
    merged
}

/// What the answers say: the check's own result, then one per component
/// (`took`: how long both GETs took, for a detailed GET that failed); and
/// the open WebSockets, when a component counts them.
fn results(
    health: Fetched,
    detailed: Option<Result<Fetched, String>>,
    took: Duration,
) -> (Vec<CheckResult>, Option<u64>) {
    let mut results = vec![overall(&health)];
    let detailed = match detailed {
        Some(Ok(detailed)) => detailed
            .body
            .map(|body| (body.components, detailed.latency)),
        Some(Err(error)) => {
            results.push(component_failed("detailed", error, took));
            None
        }
        None => None,
    };
    let components = health.body.map(|body| body.components).unwrap_or_default();
    let mut merged = merge_components(components, health.latency, detailed);
    if results.len() > 1 {
        // The failed GET's result speaks for `detailed`.
        merged.retain(|(component, _)| component.name != "detailed");
    }
    let mut connections = None;
    for (component, took) in fold_others(merged) {
        connections = component.active_connections.or(connections);
        results.push(component_result(component, took));
    }
    (results, connections)
}

/// The results of a check whose GETs were answered `status` with these
/// bodies (the fuzzer's way in: the parsing and the results, no I/O).
#[cfg(feature = "fuzzing")]
pub(crate) fn results_for_bodies(
    status: u16,
    health: &[u8],
    detailed: Option<&[u8]>,
) -> Vec<CheckResult> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let latency = Duration::from_millis(3);
    let fetched = |body: &[u8]| Fetched {
        status,
        latency,
        body: health_body::parse(body),
    };
    let detailed = detailed.map(|body| Ok(fetched(body)));
    results(fetched(health), detailed, latency).0
}

/// Components reported one by one at most: a report holds at most
/// `MAX_CHECKS` (64) results, and the other checks need a few.
const MAX_COMPONENTS: usize = 32;

/// Past [`MAX_COMPONENTS`], the rest become one component, `others`, with
/// the worst health among them: a backend's long list cannot make a
/// report the aggregator refuses, nor hide a failing component.
fn fold_others(mut merged: Vec<(Component, Duration)>) -> Vec<(Component, Duration)> {
    if merged.len() <= MAX_COMPONENTS {
        return merged;
    }
    let rest = merged.split_off(MAX_COMPONENTS - 1);
    let Some((mut others, took)) = rest.into_iter().reduce(|(mut worst, took), (next, _)| {
        health_body::merge(&mut worst, next);
        (worst, took)
    }) else {
        return merged;
    };
    others.name = "others".to_string();
    match merged.iter_mut().find(|(kept, _)| kept.name == others.name) {
        Some((kept, _)) => health_body::merge(kept, others),
        None => merged.push((others, took)),
    }
    merged
}

/// GETs a health endpoint and parses its body. A body cut off mid-way
/// (too long, or the connection broke) is not a health verdict: the status
/// line already spoke, and what arrived is parsed if it can be.
async fn fetch(getter: &mut Getter, body: &mut Vec<u8>) -> Result<Fetched, String> {
    let fetched = getter.get(body, MAX_HEALTH_BODY).await?;
    Ok(Fetched {
        status: fetched.status,
        latency: fetched.latency,
        body: health_body::parse(body),
    })
}

/// The check as a whole: a non-2xx status or an unhealthy body fails it.
fn overall(health: &Fetched) -> CheckResult {
    let status = health.status;
    let body = health.body.as_ref();
    let mut result = if !status.is_success() {
        let mut error = format!("HTTP {status}");
        if let Some(body) = body.filter(|body| body.health.is_some()) {
            error.push_str(&format!(": the backend reports {}", body.word));
        }
        failed(CHECK, error, health.latency)
    } else {
        match body.and_then(|body| body.health.map(|health| (health, &body.word))) {
            Some((Health::Fail, word)) => failed(
                CHECK,
                format!("the backend reports {word} (HTTP {status})"),
                health.latency,
            ),
            Some((Health::Warn, word)) => {
                let mut result = passed(CHECK, health.latency);
                result.status = CheckStatus::Warn as i32;
                result.error = format!("the backend reports {word}");
                result
            }
            _ => passed(CHECK, health.latency),
        }
    };
    result.observed_value = f64::from(status.as_u16());
    result.observed_unit = "status".to_string();
    result.detail = Some(Detail::Http(HttpDetail {
        status_code: u32::from(status.as_u16()),
        latency_seconds: health.latency.as_secs_f64(),
    }));
    result
}

/// One component the backend reports, e.g. `http` / `database`.
fn component_result(component: Component, took: Duration) -> CheckResult {
    let mut result = match component.health {
        Health::Pass => passed(CHECK, took),
        Health::Warn | Health::Fail => {
            let error = match &component.output {
                Some(output) => format!(
                    "the backend reports {} {}: {output}",
                    component.name, component.word
                ),
                None => format!("the backend reports {} {}", component.name, component.word),
            };
            let mut result = failed(CHECK, error, took);
            if component.health == Health::Warn {
                result.status = CheckStatus::Warn as i32;
            }
            result
        }
    };
    if let Some((value, unit)) = component.observed {
        result.observed_value = value;
        result.observed_unit = unit;
    }
    result.component = component.name;
    result
}

fn component_failed(component: &str, error: String, took: Duration) -> CheckResult {
    let mut result = failed(CHECK, error, took);
    result.component = component.to_string();
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, Ordering};

    use greenlight_proto::v1::CheckStatus;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::probe::{Probe, closed_port};

    /// A tiny HTTP/1.1 server answering every request with `status`, keeping
    /// connections open; counts the connections it accepted.
    async fn health_server(status: Arc<AtomicU16>, accepted: Arc<AtomicU16>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let status = status.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0; 4096];
                    while let Ok(read) = socket.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let code = status.load(Ordering::SeqCst);
                        let word = if code == 200 { "healthy" } else { "unhealthy" };
                        let body = format!(
                            r#"{{"status":"{word}","checks":{{"database":"{word}","redis":"healthy"}}}}"#
                        );
                        let reply = format!(
                            "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    fn probe_for(port: u16) -> Probe {
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/health")).unwrap();
        let check = HttpCheck {
            url,
            detailed_url: None,
        };
        Probe::Http(HttpProbe::new(&check, ActiveConnections::new()))
    }

    #[tokio::test]
    async fn passes_on_200_fails_on_503_and_keeps_the_connection() {
        let status = Arc::new(AtomicU16::new(200));
        let accepted = Arc::new(AtomicU16::new(0));
        let port = health_server(status.clone(), accepted.clone()).await;
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(port);

        let observation = probe.observe(timeout).await;
        let result = observation.result().clone();
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);
        assert_eq!(result.observed_value, 200.0);
        assert_eq!(result.observed_unit, "status");
        let Some(Detail::Http(detail)) = result.detail else {
            panic!("no http detail")
        };
        assert_eq!(detail.status_code, 200);
        let components: Vec<_> = observation.results[1..]
            .iter()
            .map(|r| (r.component.as_str(), r.status()))
            .collect();
        assert_eq!(
            components,
            [
                ("database", CheckStatus::Pass),
                ("redis", CheckStatus::Pass)
            ]
        );

        status.store(503, Ordering::SeqCst);
        let observation = probe.observe(timeout).await;
        let result = observation.result();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(
            result.error,
            "HTTP 503 Service Unavailable: the backend reports unhealthy"
        );
        assert_eq!(result.observed_value, 503.0);
        let database = &observation.results[1];
        assert_eq!(database.check, "http");
        assert_eq!(database.component, "database");
        assert_eq!(database.status(), CheckStatus::Fail);
        assert_eq!(database.error, "the backend reports database unhealthy");
        assert_eq!(observation.results[2].status(), CheckStatus::Pass);
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "keep-alive reused");
    }

    #[tokio::test]
    async fn closed_port_fails_fast() {
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(closed_port().await);
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result().clone();
        assert!(started.elapsed() < timeout);
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(result.error, "connection refused");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let timeout = Duration::from_millis(200);
        let result = probe_for(port).observe(timeout).await.result().clone();
        assert_eq!(result.error, "timed out after 200ms");
        holder.abort();
    }

    #[test]
    fn a_long_list_of_components_folds_into_others() {
        // 40 components in one body made a report of more than 64 checks,
        // which the aggregator refuses (seen writing health_json's check).
        let mut checks: Vec<String> = (0..40).map(|i| format!(r#""c{i:02}":"ok""#)).collect();
        checks.push(r#""zz":"unhealthy""#.to_string());
        let body = format!(r#"{{"status":"ok","checks":{{{}}}}}"#, checks.join(","));
        let results = results_of(body.as_bytes());
        assert_eq!(results.len(), 1 + MAX_COMPONENTS);
        let others = results.last().unwrap();
        assert_eq!(others.component, "others");
        assert_eq!(others.status(), CheckStatus::Fail, "zz's health speaks");
    }

    /// The results of a 200 OK with `body` on /health alone.
    fn results_of(body: &[u8]) -> Vec<CheckResult> {
        let fetched = Fetched {
            status: StatusCode::OK,
            latency: Duration::from_millis(3),
            body: health_body::parse(body),
        };
        results(fetched, None, Duration::from_millis(3)).0
    }

    #[test]
    fn components_of_both_bodies_the_detailed_one_first() {
        let component = |name: &str, word: &str| Component {
            name: name.to_string(),
            health: Health::Pass,
            word: word.to_string(),
            output: None,
            observed: None,
            active_connections: None,
        };
        let health = vec![
            component("database", "healthy"),
            component("external_apis", "healthy"),
            component("redis", "healthy"),
        ];
        let detailed = vec![
            component("database", "healthy (pool 8/20)"),
            component("redis", "healthy (12 MiB)"),
            component("websockets", "healthy"),
        ];
        let (fast, slow) = (Duration::from_millis(2), Duration::from_millis(9));
        let merged = merge_components(health.clone(), fast, Some((detailed, slow)));
        let seen: Vec<(&str, &str, Duration)> = merged
            .iter()
            .map(|(c, took)| (c.name.as_str(), c.word.as_str(), *took))
            .collect();
        assert_eq!(
            seen,
            [
                ("database", "healthy (pool 8/20)", slow),
                ("external_apis", "healthy", fast),
                ("redis", "healthy (12 MiB)", slow),
                ("websockets", "healthy", slow),
            ]
        );
        let alone = merge_components(health, fast, None);
        assert_eq!(alone.len(), 3);
        assert!(alone.iter().all(|(_, took)| *took == fast));
    }
}
