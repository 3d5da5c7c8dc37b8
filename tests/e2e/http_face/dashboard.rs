//! deploy/grafana/greenlight.json has a panel for every figure docs/http.md
//! lists, and asks for no series that the docs do not name.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `greenlight_...` name in `text`, a histogram's `_bucket` dropped.
fn series_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("greenlight_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches("_bucket");
        names.insert(name.to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_charts_every_documented_figure_and_nothing_else() {
    let root = repository();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/greenlight.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut charted = BTreeSet::new();
    for panel in panels {
        assert!(panel["title"].is_string(), "{panel}");
        for target in panel["targets"].as_array().expect("targets") {
            charted.extend(series_names(target["expr"].as_str().expect("an expr")));
        }
    }
    let docs = std::fs::read_to_string(root.join("docs/http.md")).unwrap();
    let metrics_section = docs
        .split("## /metrics")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/http.md has a /metrics section");
    let documented: BTreeSet<String> = metrics_section
        .lines()
        .filter(|line| line.starts_with("| `greenlight_"))
        .flat_map(series_names)
        .collect();
    assert!(documented.len() >= 20, "{documented:?}");
    assert_eq!(
        charted, documented,
        "charted (left) and documented (right) differ"
    );
}
