//! The words for enum values in JSON, logs and the CLI. Proto enum names
//! (`COLOR_GREEN`) are for the wire; people read `green` and `READY`.

use crate::v1::{Action, CheckKind, CheckStatus, Color, Decision, Phase};

/// Every color, decision and phase a verdict can carry (no `Unspecified`),
/// for code that must cover them all (parsers, one gauge per value).
pub const COLORS: [Color; 2] = [Color::Blue, Color::Green];
pub const DECISIONS: [Decision; 5] = [
    Decision::Ready,
    Decision::NotReady,
    Decision::Rollback,
    Decision::Hold,
    Decision::Unknown,
];
pub const PHASES: [Phase; 8] = [
    Phase::Normal,
    Phase::Deploying,
    Phase::Testing,
    Phase::Ready,
    Phase::Baking,
    Phase::Verified,
    Phase::RolledBack,
    Phase::Held,
];

pub fn color_name(color: Color) -> &'static str {
    match color {
        Color::Blue => "blue",
        Color::Green => "green",
        Color::Unspecified => "unspecified",
    }
}

/// Parses `blue` or `green` (any case).
pub fn parse_color(text: &str) -> Option<Color> {
    match text.to_ascii_lowercase().as_str() {
        "blue" => Some(Color::Blue),
        "green" => Some(Color::Green),
        _ => None,
    }
}

/// The other color of the pair; `Unspecified` stays so.
pub fn other_color(color: Color) -> Color {
    match color {
        Color::Blue => Color::Green,
        Color::Green => Color::Blue,
        Color::Unspecified => Color::Unspecified,
    }
}

pub fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Ready => "READY",
        Decision::NotReady => "NOT_READY",
        Decision::Rollback => "ROLLBACK",
        Decision::Hold => "HOLD",
        Decision::Unknown | Decision::Unspecified => "UNKNOWN",
    }
}

pub fn parse_decision(text: &str) -> Option<Decision> {
    match text {
        "READY" => Some(Decision::Ready),
        "NOT_READY" => Some(Decision::NotReady),
        "ROLLBACK" => Some(Decision::Rollback),
        "HOLD" => Some(Decision::Hold),
        "UNKNOWN" => Some(Decision::Unknown),
        _ => None,
    }
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Normal => "Normal",
        Phase::Deploying => "Deploying",
        Phase::Testing => "Testing",
        Phase::Ready => "Ready",
        Phase::Baking => "Baking",
        Phase::Verified => "Verified",
        Phase::RolledBack => "RolledBack",
        Phase::Held => "Held",
        Phase::Unspecified => "Unspecified",
    }
}

pub fn parse_phase(text: &str) -> Option<Phase> {
    PHASES.into_iter().find(|phase| phase_name(*phase) == text)
}

pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Cutover => "cutover",
        Action::Rollback => "rollback",
        Action::None | Action::Unspecified => "none",
    }
}

pub fn check_status_name(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "fail",
        CheckStatus::Inconclusive => "inconclusive",
        CheckStatus::Unspecified => "unspecified",
    }
}

/// The name a check kind goes by in reports, `/health` and verdicts.
pub fn check_kind_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Postgres => "postgres",
        CheckKind::Redis => "redis",
        CheckKind::Websocket => "websocket",
        CheckKind::Http => "http",
        CheckKind::Traffic => "traffic",
        CheckKind::Process => "process",
        CheckKind::Unspecified => "unspecified",
    }
}

pub fn parse_check_kind(text: &str) -> Option<CheckKind> {
    [
        CheckKind::Postgres,
        CheckKind::Redis,
        CheckKind::Websocket,
        CheckKind::Http,
        CheckKind::Traffic,
        CheckKind::Process,
    ]
    .into_iter()
    .find(|kind| check_kind_name(*kind) == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for color in COLORS {
            assert_eq!(parse_color(color_name(color)), Some(color));
        }
        for decision in DECISIONS {
            assert_eq!(parse_decision(decision_name(decision)), Some(decision));
        }
        for phase in PHASES {
            assert_eq!(parse_phase(phase_name(phase)), Some(phase));
        }
        assert_eq!(parse_color("purple"), None);
        assert_eq!(other_color(Color::Blue), Color::Green);
    }
}
