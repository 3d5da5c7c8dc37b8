//! The status page at `/`: server-rendered HTML, a few lines of plain
//! JavaScript that swap in the fragment each server-sent event carries,
//! and SVG charts. Pure: views and `now` in, markup out; everything that
//! comes from outside is escaped.

use std::fmt::Write;
use std::time::SystemTime;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::{check_status_name, color_name, decision_name, phase_name};
use greenlight_proto::time::rfc3339;
use greenlight_proto::v1::{CheckResult, Color, Phase, Verdict};

use super::chart::{self, Chart, Figure};
use super::escape::escape;
use super::series::CHART_SPAN;
use super::view::{AgentView, DeploymentView};
use crate::engine::value_words;

const STYLE: &str = r#"
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 12px;color:#1f2328}
header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap}
.deployment{border:1px solid #d0d7de;border-radius:8px;padding:8px 12px;margin:12px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8em;background:#eee;margin-left:4px}
.d-READY{background:#dafbe1}.d-ROLLBACK{background:#ffebe9}.d-HOLD,.d-UNKNOWN{background:#fff8c5}
.colors,.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.color{border-left:4px solid #888;padding-left:8px}.c-blue{border-color:#1f6feb}.c-green{border-color:#1a7f37}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{text-align:left;padding:2px 4px;border-bottom:1px solid #eee}
.s-fail{color:#cf222e;font-weight:600}.s-warn,.s-inconclusive{color:#9a6700}.s-pass{color:#1a7f37}
.chart{width:100%;height:auto}ol{padding-left:18px;font-size:.9em}time{color:#57606a;font-variant-numeric:tabular-nums}
@media (max-width:600px){.colors,.charts{grid-template-columns:1fr}}
"#;

/// Swaps in each event's fragment: no reload, no front-end build.
const SCRIPT: &str = r#"
const main = document.getElementById('deployments');
const link = document.getElementById('link');
const events = new EventSource('/events');
events.addEventListener('update', (event) => {
  main.innerHTML = event.data;
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
});
events.onopen = () => { link.textContent = 'live'; };
events.onerror = () => { link.textContent = 'reconnecting…'; };
"#;

/// The whole page, with the deployments as they are now.
pub fn page(views: &[DeploymentView], now: SystemTime) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>greenlight status</title><style>{STYLE}</style></head>
<body data-updates="0"><header><h1>greenlight</h1><span>updates: <b id="link">connecting…</b></span></header>
<main id="deployments">{}</main>
<script>{SCRIPT}</script></body></html>
"#,
        fragment(views, now)
    )
}

/// What `<main>` holds: every deployment (the server-sent events carry it).
pub fn fragment(views: &[DeploymentView], now: SystemTime) -> String {
    let mut out = String::new();
    if views.is_empty() {
        out.push_str("<p>No deployments yet: none is configured and no agent has said hello.</p>");
    }
    for view in views {
        deployment(&mut out, view, now);
    }
    let _ = write!(
        out,
        "<p><small>as of <time>{}</time></small></p>",
        rfc3339(now)
    );
    out
}

fn deployment(out: &mut String, view: &DeploymentView, now: SystemTime) {
    let verdict = &view.verdict;
    let name = escape(&verdict.deployment);
    let decision = decision_name(verdict.decision());
    let _ = write!(
        out,
        r#"<section class="deployment" id="d-{name}"><h2>{name} <span class="badge phase">{}</span><span class="badge decision d-{decision}">{decision}</span></h2>"#,
        phase_name(verdict.phase()),
    );
    let _ = write!(
        out,
        "<p><b>{}</b> · epoch {}{}{}</p>",
        sides(verdict),
        verdict.epoch,
        if verdict.dry_run { " · dry run" } else { "" },
        if verdict.paused_reason.is_empty() {
            String::new()
        } else {
            format!(" · paused: {}", escape(&verdict.paused_reason))
        },
    );
    out.push_str(r#"<div class="reasons"><h3>Why</h3><ul>"#);
    if verdict.reasons.is_empty() {
        out.push_str("<li>nothing holds it back</li>");
    }
    for reason in &verdict.reasons {
        let _ = write!(out, "<li>{}</li>", escape(&reason.message));
    }
    out.push_str("</ul></div><div class=\"colors\">");
    for color in [Color::Blue, Color::Green] {
        color_agents(out, view, color);
    }
    out.push_str("</div><div class=\"charts\">");
    if let Some(thresholds) = view.thresholds {
        let lines = || {
            view.series
                .iter()
                .map(|(color, samples)| (*color, samples.as_slice()))
                .collect()
        };
        for (figure, threshold) in [
            (Figure::ErrorRatio, thresholds.max_error_ratio),
            (
                Figure::MeanLatency,
                thresholds.max_mean_latency.as_secs_f64(),
            ),
        ] {
            out.push_str(&chart::svg(&Chart {
                figure,
                lines: lines(),
                threshold,
                now,
                span: CHART_SPAN,
            }));
        }
    }
    out.push_str("</div><div class=\"timeline\"><h3>Recent</h3><ol>");
    if view.timeline.is_empty() {
        out.push_str("<li>nothing yet since this aggregator started</li>");
    }
    for event in &view.timeline {
        let _ = write!(
            out,
            r#"<li class="e-{}"><time>{}</time> {}: {}</li>"#,
            event.kind.name(),
            rfc3339(event.at),
            event.kind.name(),
            escape(&event.text)
        );
    }
    out.push_str("</ol></div></section>");
}

/// Where traffic is and what the other color is, in the CLI's words:
/// while the new side bakes, live and candidate are the same color, which
/// "live green · candidate green" said badly.
fn sides(verdict: &Verdict) -> String {
    greenlight_proto::sides::sides(&VerdictJson::from(verdict))
}

fn color_agents(out: &mut String, view: &DeploymentView, color: Color) {
    let verdict = &view.verdict;
    let role = if verdict.live() == color {
        "live"
    } else if verdict.live() == verdict.candidate() {
        // Baking: the old side, where a rollback goes.
        "previous"
    } else if verdict.phase() == Phase::Verified {
        "standby"
    } else {
        "candidate"
    };
    let name = color_name(color);
    let _ = write!(
        out,
        r#"<div class="color c-{name}"><h3>{name} <small>{role}</small></h3>"#
    );
    let agents: Vec<&AgentView> = view.agents.iter().filter(|a| a.color == color).collect();
    if agents.is_empty() {
        out.push_str("<p>no agents</p>");
    }
    for agent in agents {
        let state = match (agent.connected, agent.fresh) {
            (true, true) => "connected, fresh",
            (true, false) => "connected, stale",
            (false, _) => "disconnected",
        };
        let _ = write!(
            out,
            "<p><b>{}</b> {state}</p><table><tr><th>check</th><th>value</th><th>status</th></tr>",
            escape(&agent.instance_id)
        );
        for check in &agent.checks {
            check_row(out, check);
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}

fn check_row(out: &mut String, check: &CheckResult) {
    let mut name = escape(&check.check);
    if !check.component.is_empty() {
        let _ = write!(name, "/{}", escape(&check.component));
    }
    let status = check_status_name(check.status());
    let value = value_words(check);
    let error = if check.error.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape(&check.error))
    };
    let _ = write!(
        out,
        r#"<tr><td>{name}</td><td>{}</td><td class="s-{}">{status}{error}</td></tr>"#,
        escape(value.trim()),
        status.to_ascii_lowercase(),
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::{CheckStatus, Decision, Reason};

    use super::super::series::Sample;
    use super::super::timeline::{EventKind, TimelineEvent};
    use super::*;
    use crate::engine::TrafficThresholds;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn view() -> DeploymentView {
        let mut verdict = Verdict {
            deployment: "escashop".into(),
            epoch: 7,
            reasons: vec![Reason {
                message: "green/green-1: http failing <since 3s>".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        verdict.set_decision(Decision::NotReady);
        verdict.set_phase(Phase::Deploying);
        verdict.set_live(Color::Blue);
        verdict.set_candidate(Color::Green);
        let mut check = CheckResult {
            check: "http".into(),
            observed_value: 503.0,
            observed_unit: "status".into(),
            error: "backend says <unhealthy>".into(),
            ..Default::default()
        };
        check.set_status(CheckStatus::Fail);
        DeploymentView {
            verdict,
            agents: vec![AgentView {
                color: Color::Green,
                instance_id: "green-1".into(),
                connected: true,
                fresh: true,
                checks: vec![check],
            }],
            series: vec![(
                Color::Green,
                vec![Sample {
                    at: at(0),
                    error_ratio: Some(0.01),
                    mean_latency_seconds: Some(0.02),
                }],
            )],
            thresholds: Some(TrafficThresholds {
                max_error_ratio: 0.05,
                max_mean_latency: Duration::from_secs(5),
            }),
            timeline: vec![TimelineEvent {
                at: at(0),
                deployment: "escashop".into(),
                kind: EventKind::Transition,
                text: "Normal → Deploying: candidate agents connected".into(),
            }],
        }
    }

    #[test]
    fn the_page_shows_phase_colors_checks_reasons_and_timeline_escaped() {
        let html = page(&[view()], at(1));
        assert!(html.contains(r#"<meta name="viewport""#));
        assert!(html.contains("escashop <span class=\"badge phase\">Deploying</span>"));
        assert!(html.contains("NOT_READY"));
        assert!(
            html.contains(
                "<b>live blue, candidate green deploying (not healthy yet)</b> · epoch 7"
            )
        );
        assert!(html.contains("http failing &lt;since 3s&gt;"), "{html}");
        assert!(html.contains("<td>http</td><td>HTTP 503</td>"), "{html}");
        assert!(html.contains("(backend says &lt;unhealthy&gt;)"), "{html}");
        assert!(html.contains("Normal → Deploying"));
        assert_eq!(html.matches("<svg").count(), 2, "error ratio and latency");
        assert!(!html.contains("<since"), "nothing unescaped: {html}");
        assert!(html.contains("new EventSource('/events')"));
    }

    #[test]
    fn no_deployments_says_so() {
        assert!(fragment(&[], at(0)).contains("No deployments yet"));
    }

    #[test]
    fn values_read_for_their_kind() {
        let html = page(&[view()], at(1));
        assert!(html.contains("<td>http</td><td>HTTP 503</td>"), "{html}");
        assert!(!html.contains("503 status"), "{html}");
    }

    #[test]
    fn the_page_says_where_traffic_is_as_the_cli_does() {
        let mut baking = view();
        baking.verdict.set_phase(Phase::Baking);
        baking.verdict.set_decision(Decision::Ready);
        baking.verdict.set_live(Color::Green);
        baking.verdict.bake_deadline = Some(greenlight_proto::time::to_timestamp(at(300)));
        let html = page(&[baking], at(1));
        assert!(
            html.contains("<b>live green (new, baking until 08:05:00 UTC), previous blue</b>"),
            "{html}"
        );
        assert!(html.contains("blue <small>previous</small>"), "{html}");
        assert!(!html.contains("<small>candidate"), "{html}");
    }
}
