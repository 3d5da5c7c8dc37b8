//! Whether the old side could run at all if traffic went back to it: its
//! agents' `postgres/schema` check (what that color's code declares it
//! needs from the database, compared with the live catalogs). A database
//! changed under it (a dropped column, a removed enum value) makes the old
//! side unfit to roll back to, whatever its other checks say. Before
//! cutover that refuses READY; while baking it holds, because rolling back
//! to a side that cannot work is worse than staying.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::Color;

use super::agent::{AgentKey, AgentState};
use super::finding::{Finding, Rule};
use super::settings::DeploymentSettings;

/// The check key of the schema an agent's color declares.
pub const SCHEMA_CHECK: &str = "postgres/schema";

/// When the rule speaks: the consequence it states differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    BeforeCutover,
    Baking,
}

/// One finding per fresh agent of `target` (the side a rollback goes to)
/// whose schema check fails. An agent that is stale, new or silent says
/// nothing here: unknown is not incompatible.
pub fn incompatible(
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    target: Color,
    candidate: Color,
    moment: Moment,
    now: SystemTime,
) -> Vec<Finding> {
    let (target_name, candidate_name) = (color_name(target), color_name(candidate));
    let consequence = match moment {
        Moment::BeforeCutover => format!(
            "{candidate_name} is not READY while a rollback to {target_name} could not work"
        ),
        Moment::Baking => format!(
            "rolling back to {target_name} would break it, so greenlight holds instead; restore what {target_name} needs, or keep {candidate_name} and retire {target_name}"
        ),
    };
    agents
        .iter()
        .filter(|(key, agent)| {
            key.color == target
                && !agent.is_new(now)
                && agent.is_fresh(now, settings.stale_after_intervals)
        })
        .filter_map(|(key, agent)| {
            let failing = agent.failing.get(SCHEMA_CHECK)?;
            let error = agent
                .failing_checks()
                .find(|check| super::agent::check_key(check) == SCHEMA_CHECK)
                .map(|check| check.error.clone())
                .unwrap_or_default();
            let text = format!(
                "the database no longer has what {target_name}'s code needs ({error}): {consequence}"
            );
            Some(
                Finding::new(Rule::RollbackTargetIncompatible, target, text)
                    .agent(&key.instance_id)
                    .check(SCHEMA_CHECK)
                    .error(&error)
                    .since(failing.since),
            )
        })
        .collect()
}
