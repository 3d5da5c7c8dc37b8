//! After cutover: the rollback triggers, and the trust rules that turn a
//! trigger into HOLD when rolling back cannot help or the data is missing.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::Color;

use super::agent::{AgentKey, AgentState};
use super::finding::{Finding, Rule, Text};
use super::readiness::{color_is_healthy, judge_freshness};
use super::rollback_target::{Moment, incompatible};
use super::settings::DeploymentSettings;
use super::traffic_rules::TrafficRules;

/// What the bake rules found, sorted by what they mean.
#[derive(Debug, Default)]
pub struct BakeFindings {
    /// Candidate-specific faults: each one alone asks for a rollback.
    pub triggers: Vec<Finding>,
    /// Reasons not to act (shared fault, missing data, nowhere to go).
    pub holds: Vec<Finding>,
    /// Worth saying, not worth acting on.
    pub info: Vec<Finding>,
}

pub struct Bake<'a> {
    pub settings: &'a DeploymentSettings,
    pub agents: &'a BTreeMap<AgentKey, AgentState>,
    pub stable: Color,
    pub candidate: Color,
    pub traffic: &'a TrafficRules,
    pub deadline: SystemTime,
    /// Requests the candidate served since cutover.
    pub bake_requests: u64,
    /// After a restart, agents' absence is not missing data yet.
    pub in_grace: bool,
    /// Whether an agent of the old side was there since the cutover.
    pub stable_seen: bool,
    /// When the stable side last failed each check.
    pub stable_failed_at: &'a BTreeMap<String, SystemTime>,
}

impl Bake<'_> {
    pub fn evaluate(&self, now: SystemTime) -> BakeFindings {
        let mut found = BakeFindings::default();
        self.candidate_agents(now, &mut found);
        self.shared_faults(now, &mut found);
        self.traffic_rules(now, &mut found);
        found.holds.extend(incompatible(
            self.settings,
            self.agents,
            self.stable,
            self.candidate,
            Moment::Baking,
            now,
        ));
        if !found.triggers.is_empty() && !self.stable_seen {
            // Unknown is not unhealthy: with no old-side agent at all, roll
            // back as the guide does, and say what is not known.
            found.info.push(Finding::new(
                Rule::BaselineMissing,
                self.stable,
                format!(
                    "no {} agent has reported since the cutover: the rollback target's health and the baseline are unknown; rolling back as the guide does",
                    color_name(self.stable)
                ),
            ));
        } else if !found.triggers.is_empty()
            && !color_is_healthy(self.settings, self.agents, self.stable, now)
        {
            found.holds.push(Finding::new(
                Rule::RollbackTargetUnhealthy,
                self.stable,
                format!(
                    "{} has no fresh, passing agent: rolling back to it may not help",
                    color_name(self.stable)
                ),
            ));
        }
        self.bake_window(now, &mut found);
        found
    }

    fn candidate_agents(&self, now: SystemTime, found: &mut BakeFindings) {
        let settings = self.settings;
        let in_grace = self.in_grace;
        let mut missing = Vec::new();
        let mut any = false;
        for (key, agent) in self
            .agents
            .iter()
            .filter(|(k, _)| k.color == self.candidate)
        {
            any = true;
            if agent.is_new(now) {
                continue; // one interval to send its first report
            }
            if !judge_freshness(settings, key, agent, now, Rule::MissingData, &mut missing) {
                let silent_too_long = agent.silence(now) > settings.health_failure_for;
                if settings.rollback_on_missing_data && silent_too_long && !in_grace {
                    found.triggers.append(&mut missing);
                }
                continue;
            }
            self.failing_checks(key, agent, now, found);
        }
        if !any {
            missing.push(Finding::new(
                Rule::MissingData,
                self.candidate,
                format!("no {} agent is connected", color_name(self.candidate)),
            ));
        }
        if in_grace {
            for mut finding in missing {
                finding.rule = Rule::Restoring;
                finding.text =
                    format!("waiting for agents after a restart ({})", finding.text).into();
                found.info.push(finding);
            }
        } else {
            found.holds.append(&mut missing);
        }
    }

    fn failing_checks(
        &self,
        key: &AgentKey,
        agent: &AgentState,
        now: SystemTime,
        found: &mut BakeFindings,
    ) {
        let settings = self.settings;
        for (name, failing) in &agent.failing {
            if name == "traffic" || name.starts_with("traffic/") {
                continue; // judged from the counters, below
            }
            let error = agent
                .failing_checks()
                .find(|check| super::agent::check_key(check) == *name)
                .map(|check| check.error.clone())
                .unwrap_or_default();
            // A failure the old side shares is judged as shared (it holds,
            // below); once the old side recovers, the candidate's own
            // failure is counted from then, not from the outage's start.
            let shared_now = self.stable_fails(name, now);
            let own_since = match self.stable_failed_at.get(name) {
                Some(stable) => failing.since.max(*stable),
                None => failing.since,
            };
            let since = if shared_now { failing.since } else { own_since };
            // On evidence: up to its latest observation, not up to now (a
            // failure seen once before a silence has not lasted the silence).
            let for_time = agent
                .last_observed
                .duration_since(since)
                .unwrap_or_default();
            let base = Finding::new(Rule::CheckFailed, key.color, "")
                .agent(&key.instance_id)
                .check(name)
                .error(&error)
                .since(since);
            if name == "postgres" {
                let limit = settings.database_lost_samples;
                let mut finding =
                    base.observed(f64::from(failing.reports), "reports", f64::from(limit));
                // Spread over the reports' intervals (a replayed burst is
                // not a lasting loss), less a tenth of one: reports taken
                // on a 1 s grid land 1.999 s apart about half the time
                // (measured: 11 of 20 rollback trials waited a report more).
                let interval = agent.identity.interval;
                let long_enough =
                    shared_now || for_time + interval / 10 >= interval * limit.saturating_sub(1);
                if failing.reports >= limit && long_enough {
                    finding.rule = Rule::DatabaseLost;
                    finding.text = format!(
                        "database unreachable in {} reports in a row: {error}",
                        failing.reports
                    )
                    .into();
                    found.triggers.push(finding);
                } else {
                    finding.text = format!(
                        "failing in {} of {limit} reports before database_lost: {error}",
                        failing.reports
                    )
                    .into();
                    found.info.push(finding);
                }
                continue;
            }
            let limit = settings.health_failure_for.as_secs_f64();
            let mut finding = base.observed(for_time.as_secs_f64(), "seconds", limit);
            if for_time > settings.health_failure_for {
                finding.rule = Rule::HealthFailing;
                finding.text = format!(
                    "failing continuously for {:.0} s, more than {limit:.0} s: {error}",
                    for_time.as_secs_f64()
                )
                .into();
                found.triggers.push(finding);
            } else {
                finding.text = format!(
                    "failing for {:.0} s of the {limit:.0} s allowed: {error}",
                    for_time.as_secs_f64()
                )
                .into();
                found.info.push(finding);
            }
        }
    }

    /// Whether a fresh agent of the old side fails `check` now.
    fn stable_fails(&self, check: &str, now: SystemTime) -> bool {
        self.agents.iter().any(|(key, agent)| {
            key.color == self.stable
                && agent.is_fresh(now, self.settings.stale_after_intervals)
                && agent.fails(check)
        })
    }

    /// A trigger on a check that the old side's agents see failing too is a
    /// shared dependency: rolling back cannot help.
    fn shared_faults(&self, now: SystemTime, found: &mut BakeFindings) {
        let stable_fails = |check: &str| self.stable_fails(check, now);
        let (shared, own): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut found.triggers)
            .into_iter()
            .partition(|finding| !finding.check.is_empty() && stable_fails(&finding.check));
        found.triggers = own;
        for mut finding in shared {
            finding.rule = Rule::SharedDependency;
            finding.text = format!(
                "{} agents see {} failing too, so rolling back cannot help ({})",
                color_name(self.stable),
                finding.check,
                finding.text
            )
            .into();
            found.holds.push(finding);
        }
    }

    fn traffic_rules(&self, now: SystemTime, found: &mut BakeFindings) {
        let settings = self.settings;
        let window = self
            .traffic
            .candidate_window(settings, self.agents, self.candidate, now);
        let window_seconds = settings.traffic_window.as_secs_f64();
        if window.requests < settings.min_requests {
            found.info.push(
                Finding::new(
                    Rule::Inconclusive,
                    self.candidate,
                    format!(
                        "only {} requests in the last {window_seconds:.0} s (at least {} needed): traffic rules inconclusive",
                        window.requests, settings.min_requests
                    ),
                )
                .observed(window.requests as f64, "requests", settings.min_requests as f64),
            );
            return;
        }
        let ratio = window.error_ratio();
        if self.traffic.error_ratio.fires(settings.hysteresis) {
            found.triggers.push(
                Finding::new(
                    Rule::ErrorRatio,
                    self.candidate,
                    format!(
                        "error ratio {ratio:.3} over the last {window_seconds:.0} s ({} of {} requests) above {}",
                        window.errors, window.requests, settings.max_error_ratio
                    ),
                )
                .observed(ratio, "ratio", settings.max_error_ratio),
            );
        }
        let mean = window.mean_latency_seconds();
        let limit = settings.max_mean_latency.as_secs_f64();
        if self.traffic.latency.fires(settings.hysteresis) {
            found.triggers.push(
                Finding::new(
                    Rule::Latency,
                    self.candidate,
                    format!("mean response time {mean:.2} s over the last {window_seconds:.0} s above {limit:.2} s"),
                )
                .observed(mean, "seconds", limit),
            );
        }
        if let Some(baseline) = &self.traffic.baseline {
            if self.traffic.baseline_regression.fires(settings.hysteresis) {
                let base = baseline.ratio();
                found.triggers.push(
                    Finding::new(
                        Rule::BaselineRegression,
                        self.candidate,
                        format!(
                            "error ratio {ratio:.4} is significantly above {}'s pre-cutover {base:.4} ({} of {} requests): z = {:.1} > {}",
                            color_name(self.stable),
                            baseline.errors,
                            baseline.requests,
                            self.traffic.z_against_baseline(&window).unwrap_or(0.0),
                            settings.baseline.z_critical
                        ),
                    )
                    .observed(ratio, "ratio", base + settings.baseline.min_increase),
                );
            }
        }
    }

    fn bake_window(&self, now: SystemTime, found: &mut BakeFindings) {
        let settings = self.settings;
        if now < self.deadline {
            let left = self.deadline.duration_since(now).unwrap_or_default();
            found.info.push(
                Finding::new(
                    Rule::BakeWindow,
                    self.candidate,
                    Text::BakeProgress {
                        left_seconds: left.as_secs_f64(),
                        bake_seconds: settings.bake_for.as_secs_f64(),
                        requests: self.bake_requests,
                    },
                )
                .observed(
                    left.as_secs_f64(),
                    "seconds",
                    settings.bake_for.as_secs_f64(),
                ),
            );
        } else if self.bake_requests < settings.min_requests
            && found.triggers.is_empty()
            && found.holds.is_empty()
        {
            found.holds.push(
                Finding::new(
                    Rule::BakeInconclusive,
                    self.candidate,
                    format!(
                        "the bake window is over but {} served only {} requests (at least {} needed) to prove itself",
                        color_name(self.candidate),
                        self.bake_requests,
                        settings.min_requests
                    ),
                )
                .observed(self.bake_requests as f64, "requests", settings.min_requests as f64),
            );
        }
    }
}
