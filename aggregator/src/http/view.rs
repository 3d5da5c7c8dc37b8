//! What the status page shows of one deployment, gathered under the
//! engine's lock and the board's, then rendered without either.

use std::time::SystemTime;

use greenlight_proto::v1::{CheckResult, Color, Verdict};

use super::board::Board;
use super::series::Sample;
use super::timeline::TimelineEvent;
use crate::engine::TrafficThresholds;
use crate::hub::Hub;

/// Timeline events shown per deployment.
const TIMELINE_SHOWN: usize = 20;

#[derive(Debug, Clone)]
pub struct AgentView {
    pub color: Color,
    pub instance_id: String,
    pub connected: bool,
    pub fresh: bool,
    /// The checks of its latest report (empty before its first).
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone)]
pub struct DeploymentView {
    pub verdict: Verdict,
    pub agents: Vec<AgentView>,
    pub series: Vec<(Color, Vec<Sample>)>,
    pub thresholds: Option<TrafficThresholds>,
    /// Newest first.
    pub timeline: Vec<TimelineEvent>,
}

/// Every deployment as it is now, and the time it was read at.
pub fn gather(hub: &Hub, board: &Board) -> (Vec<DeploymentView>, SystemTime) {
    let (mut views, now) = hub.read(|engine, now| {
        let views: Vec<DeploymentView> = engine
            .verdicts(now)
            .into_iter()
            .map(|verdict| {
                let name = verdict.deployment.clone();
                let agents = engine
                    .latest_reports(&name)
                    .into_iter()
                    .map(|(key, connected, report)| AgentView {
                        fresh: verdict.agents.iter().any(|agent| {
                            agent.instance_id == key.instance_id
                                && agent.color() == key.color
                                && agent.fresh
                        }),
                        color: key.color,
                        instance_id: key.instance_id,
                        connected,
                        checks: report.map(|report| report.checks).unwrap_or_default(),
                    })
                    .collect();
                DeploymentView {
                    thresholds: engine.traffic_thresholds(&name),
                    verdict,
                    agents,
                    series: Vec::new(),
                    timeline: Vec::new(),
                }
            })
            .collect();
        (views, now)
    });
    board.with(|state| {
        for view in &mut views {
            let name = &view.verdict.deployment;
            view.series = [Color::Blue, Color::Green]
                .into_iter()
                .map(|color| (color, state.series.samples(name, color)))
                .collect();
            view.timeline = state.timeline.recent(name, TIMELINE_SHOWN);
        }
    });
    (views, now)
}
