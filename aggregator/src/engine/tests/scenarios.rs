//! The scenario corpus of the rules on the happy path and the trust rules:
//! see `corpus` for the harness, `stories` for the stories.

use greenlight_proto::v1::{Decision, Phase};

use super::corpus::{CUTOVER, Expect, ROLLBACK, Script, check};
use super::stories::*;

#[test]
fn scenario_corpus() {
    use Decision::*;
    let corpus: Vec<(&str, Script, Expect)> = vec![
        (
            "green-only error spike rolls back",
            green_only_error_spike,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("error_ratio"),
            },
        ),
        (
            "PostgreSQL down for both colors holds",
            postgres_down_for_both,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "PostgreSQL down for green only rolls back",
            green_only_postgres_down,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("database_lost"),
            },
        ),
        (
            "one bad sample is no rollback",
            one_bad_sample,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: Some("bake_window"),
            },
        ),
        (
            "a check flapping every other sample is no rollback",
            flapping_check,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "latency creeping past 5 s rolls back",
            latency_creeping,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("latency"),
            },
        ),
        (
            "no traffic is inconclusive and no rollback",
            no_traffic,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("bake_inconclusive"),
            },
        ),
        (
            "3% against a 0.2% baseline rolls back",
            baseline_regression,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("baseline_regression"),
            },
        ),
        (
            "3% against a 2.9% baseline is no rollback",
            baseline_equal,
            Expect {
                decision: Ready,
                phase: Phase::Verified,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "a green agent's stream lost during the bake holds",
            stream_lost,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("missing_data"),
            },
        ),
        (
            "health failing 1 min 59 s then recovering is no rollback",
            health_failing_1m59s,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "health failing 2 min 1 s rolls back",
            health_failing_2m1s,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("health_failing"),
            },
        ),
        (
            "the bake completing is Verified",
            bake_completes,
            Expect {
                decision: Ready,
                phase: Phase::Verified,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "duplicate or out-of-order reports are ignored",
            duplicates_and_out_of_order,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "a shared Redis outage holds",
            shared_redis_outage,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "green recovering later than blue after a shared outage is no rollback",
            green_recovers_later_after_a_shared_outage,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "READY waits for a cutover call by default",
            manual_gate,
            Expect {
                decision: Ready,
                phase: Phase::Ready,
                actions: &[],
                alert: false,
                rule: None,
            },
        ),
        (
            "auto_cutover cuts over once",
            auto_cutover,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "dry run decides and never acts",
            dry_run_error_spike,
            Expect {
                decision: Ready,
                phase: Phase::Ready,
                actions: &[],
                alert: false,
                rule: Some("dry_run"),
            },
        ),
        (
            "a rollback is decided once",
            rollback_fires_once,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("rolled_back"),
            },
        ),
        (
            "an unhealthy rollback target holds",
            rollback_target_unhealthy,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("rollback_target_unhealthy"),
            },
        ),
        (
            "a backend restart's counter reset is no spike",
            counter_reset,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "missing data rolls back only when opted in",
            missing_data_opt_in,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("missing_data"),
            },
        ),
        (
            "a redeploy after a rollback starts a new cycle",
            redeploy_after_rollback,
            Expect {
                decision: NotReady,
                phase: Phase::Testing,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("readiness_window"),
            },
        ),
        (
            "an operator rollback is always accepted",
            operator_rollback,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("rolled_back"),
            },
        ),
        (
            "a paused bake holds and does not act",
            paused_bake,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("paused"),
            },
        ),
    ];
    assert!(corpus.len() >= 20);
    check(corpus);
}
