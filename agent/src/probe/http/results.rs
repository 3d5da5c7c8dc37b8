//! What the `http` check's answers mean, without I/O: the check's own
//! result from the status and the body, one result per component the
//! bodies report (merged, and folded past a report's room), and the open
//! WebSockets a component counts. The fuzzer comes in here.

use std::time::Duration;

use greenlight_proto::v1::{CheckResult, CheckStatus, HttpDetail, check_result::Detail};
use hyper::StatusCode;

use super::CHECK;
use super::health_body::{self, Component, Health, HealthBody};
use crate::probe::{failed, passed};

/// One GET of a health endpoint.
pub(super) struct Fetched {
    pub(super) status: StatusCode,
    pub(super) latency: Duration,
    /// `None` when the body is not a JSON object (plain "OK" is fine).
    pub(super) body: Option<HealthBody>,
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
pub(super) fn results(
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
    use super::*;

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
