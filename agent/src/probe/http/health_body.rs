//! What a backend's health body says, in either shape it may come in:
//!
//! - the guide's JSON: `{"status": "healthy", "checks": {"database":
//!   "healthy", "redis": {"status": "healthy", "response_time": "3ms"}}}`;
//! - `application/health+json` (draft-inadarei-api-health-check):
//!   `{"status": "pass", "checks": {"database:responseTime": [{"status":
//!   "pass", "observedValue": 12, "observedUnit": "ms"}]}}`.
//!
//! Both come down to an overall status and one [`Component`] per thing the
//! backend reports on. Pure: bytes in, values out.

use greenlight_proto::limits::MAX_NAME_BYTES;
use serde_json::{Map, Value};

/// A health word, as either shape writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Health {
    Pass,
    Warn,
    Fail,
}

impl Health {
    /// `healthy`/`pass`/`ok`/`up` pass, `warn`/`degraded` warn, anything
    /// else (`unhealthy`, `fail`, `down`, a typo) fails: an unknown word is
    /// not a reason to trust.
    fn from_word(word: &str) -> Health {
        match word.trim().to_ascii_lowercase().as_str() {
            "healthy" | "pass" | "ok" | "up" => Health::Pass,
            "warn" | "warning" | "degraded" => Health::Warn,
            _ => Health::Fail,
        }
    }
}

/// One thing the backend reports on, e.g. `database`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Component {
    pub(crate) name: String,
    pub(crate) health: Health,
    /// The word the backend used, for the error text ("unhealthy").
    pub(crate) word: String,
    /// The backend's own explanation (health+json `output`), if any.
    pub(crate) output: Option<String>,
    /// A measurement with its unit, e.g. `(0.012, "seconds")`.
    pub(crate) observed: Option<(f64, String)>,
    /// Open WebSocket connections, when this component counts them.
    pub(crate) active_connections: Option<u64>,
}

/// The body's overall status and its components, by name (serde_json's
/// map is ordered by key).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HealthBody {
    /// `None` when the body has no `status` word.
    pub(crate) health: Option<Health>,
    pub(crate) word: String,
    pub(crate) components: Vec<Component>,
}

/// Reads a health body; `None` when it is not a JSON object.
pub(crate) fn parse(body: &[u8]) -> Option<HealthBody> {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let word = root.get("status").and_then(Value::as_str).unwrap_or("");
    let mut parsed = HealthBody {
        health: (!word.is_empty()).then(|| Health::from_word(word)),
        word: word.to_string(),
        components: Vec::new(),
    };
    if let Some(Value::Object(checks)) = root.get("checks") {
        for (key, value) in checks {
            // health+json keys are `component:measurement`.
            let name = component_name(key.split(':').next().unwrap_or(key));
            let Some(component) = component(&name, value) else {
                continue;
            };
            match parsed.components.iter_mut().find(|c| c.name == name) {
                Some(seen) => merge(seen, component),
                None => parsed.components.push(component),
            }
        }
    }
    Some(parsed)
}

/// A component's name as a report can carry it: the aggregator refuses a
/// report with an empty name beside the check's own result (the same
/// check twice), a control character or an over-long name.
fn component_name(key: &str) -> String {
    match fit_name(key) {
        name if name.is_empty() => "unnamed".to_string(),
        name => name,
    }
}

/// `text` without control characters (each becomes `?`), cut to
/// [`MAX_NAME_BYTES`] on a character boundary.
fn fit_name(text: &str) -> String {
    let mut name = String::with_capacity(text.len().min(MAX_NAME_BYTES));
    for c in text.chars().map(|c| if c.is_control() { '?' } else { c }) {
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    name
}

fn component(name: &str, value: &Value) -> Option<Component> {
    match value {
        // The guide's /health: `"database": "healthy"`.
        Value::String(word) => Some(named(name, word)),
        // The guide's /health/detailed: `"database": {"status": ..., ...}`.
        Value::Object(fields) => Some(from_fields(name, fields)),
        // health+json: an array of measurements; the worst one speaks.
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_object)
            .map(|fields| from_fields(name, fields))
            .reduce(|mut worst, next| {
                merge(&mut worst, next);
                worst
            }),
        _ => None,
    }
}

fn named(name: &str, word: &str) -> Component {
    Component {
        name: name.to_string(),
        health: Health::from_word(word),
        word: word.to_string(),
        output: None,
        observed: None,
        active_connections: None,
    }
}

fn from_fields(name: &str, fields: &Map<String, Value>) -> Component {
    let word = fields.get("status").and_then(Value::as_str).unwrap_or("");
    let mut component = named(name, word);
    if word.is_empty() {
        // An object without a status says nothing about health.
        component.health = Health::Warn;
        component.word = "no status".to_string();
    }
    component.output = fields
        .get("output")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string);
    component.active_connections = fields.get("active_connections").and_then(Value::as_u64);
    component.observed = observed(fields);
    if component.active_connections.is_none() && name == "websockets" {
        // health+json writes the count as the observed value.
        component.active_connections = component
            .observed
            .as_ref()
            .filter(|(_, unit)| unit.contains("connection"))
            .map(|(value, _)| *value as u64);
    }
    component
}

/// The measurement, in base units where the unit is known. What a report
/// could not carry (a negative value, a unit no name) is no measurement.
fn observed(fields: &Map<String, Value>) -> Option<(f64, String)> {
    measurement(fields).filter(|(value, _)| *value >= 0.0)
}

fn measurement(fields: &Map<String, Value>) -> Option<(f64, String)> {
    if let Some(value) = fields.get("observedValue").and_then(Value::as_f64) {
        let unit = fields
            .get("observedUnit")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Some(match unit {
            "ms" => (value / 1000.0, "seconds".to_string()),
            "s" => (value, "seconds".to_string()),
            other => (value, fit_name(other)),
        });
    }
    if let Some(text) = fields.get("response_time").and_then(Value::as_str) {
        let took = humantime::parse_duration(text.trim()).ok()?;
        return Some((took.as_secs_f64(), "seconds".to_string()));
    }
    if let Some(count) = fields.get("active_connections").and_then(Value::as_f64) {
        return Some((count, "connections".to_string()));
    }
    None
}

/// Folds a second measurement of the same component into `seen`: the worse
/// health wins, with its word, output and value (the telling one).
pub(super) fn merge(seen: &mut Component, next: Component) {
    if next.health > seen.health {
        seen.health = next.health;
        seen.word = next.word;
        seen.output = next.output.or(seen.output.take());
        if next.observed.is_some() {
            seen.observed = next.observed.clone();
        }
    }
    if seen.observed.is_none() {
        seen.observed = next.observed;
    }
    if seen.active_connections.is_none() {
        seen.active_connections = next.active_connections;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_health() {
        let body = br#"{"status":"unhealthy","version":"v3.1.0","checks":
            {"database":"unhealthy","redis":"healthy","external_apis":"healthy"},"uptime":"00:05:32"}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.health, Some(Health::Fail));
        assert_eq!(parsed.word, "unhealthy");
        let names: Vec<_> = parsed.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["database", "external_apis", "redis"]);
        assert_eq!(parsed.components[0].health, Health::Fail);
        assert_eq!(parsed.components[2].health, Health::Pass);
    }

    #[test]
    fn the_guides_detailed_health() {
        let body = br#"{"status":"healthy","checks":{
            "database":{"status":"healthy","response_time":"12ms","connection_pool":"8/20"},
            "redis":{"status":"healthy","response_time":"3ms","memory_usage":"45MB"},
            "websockets":{"status":"unhealthy","active_connections":12}}}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.health, Some(Health::Pass));
        let database = &parsed.components[0];
        assert_eq!(database.observed, Some((0.012, "seconds".to_string())));
        let websockets = &parsed.components[2];
        assert_eq!(websockets.name, "websockets");
        assert_eq!(websockets.health, Health::Fail);
        assert_eq!(websockets.active_connections, Some(12));
    }

    #[test]
    fn health_json_merges_measurements_per_component() {
        let body = br#"{"status":"warn","checks":{
            "database:responseTime":[{"status":"pass","observedValue":12,"observedUnit":"ms"}],
            "database:connections":[{"status":"warn","observedValue":19,"output":"pool nearly full"}],
            "websockets:connections":[{"status":"pass","observedValue":3,"observedUnit":"connections"}],
            "uptime":[{"componentType":"system","observedValue":1209600.245,"observedUnit":"s","status":"pass"}]}}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.health, Some(Health::Warn));
        let names: Vec<_> = parsed.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["database", "uptime", "websockets"]);
        let database = &parsed.components[0];
        assert_eq!(database.health, Health::Warn);
        assert_eq!(database.output.as_deref(), Some("pool nearly full"));
        assert_eq!(
            database.observed,
            Some((19.0, String::new())),
            "the warning's value"
        );
        assert_eq!(parsed.components[2].active_connections, Some(3));
    }

    #[test]
    fn names_and_values_fit_a_report() {
        // Found by fuzzing (health_json): a component named "" made the
        // same check twice in the report; the aggregator refused it.
        let long = "d".repeat(300);
        let body = format!(
            r#"{{"checks":{{"":"ok",":x":"ok","db\u001b[2J":"ok","{long}":"ok",
            "pool":[{{"status":"pass","observedValue":-3,"observedUnit":"conn\nections"}}],
            "queue":[{{"status":"pass","observedValue":4,"observedUnit":"jobs\u0007"}}]}}}}"#
        );
        let parsed = parse(body.as_bytes()).unwrap();
        let names: Vec<_> = parsed.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "unnamed",
                "db?[2J",
                &long[..MAX_NAME_BYTES],
                "pool",
                "queue"
            ]
        );
        assert_eq!(parsed.components[3].observed, None, "a negative value");
        assert_eq!(parsed.components[4].observed, Some((4.0, "jobs?".into())));
    }

    #[test]
    fn words_and_garbage() {
        assert_eq!(Health::from_word("UP"), Health::Pass);
        assert_eq!(Health::from_word("degraded"), Health::Warn);
        assert_eq!(Health::from_word("healthyish"), Health::Fail);
        assert_eq!(parse(b"OK"), None);
        assert_eq!(parse(b"[1,2]"), None);
        assert_eq!(parse(b"{}").unwrap(), HealthBody::default());
    }
}
