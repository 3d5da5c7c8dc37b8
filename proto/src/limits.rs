//! The limits every message must keep (docs/protocol.md, "Limits and
//! ranges"): shared by the agent, which keeps within them, and the
//! aggregator, which refuses or clamps what does not.

/// A name: a check, a component, a unit, a version, a run id. Over it the
/// message is refused (a name cut short would be a different name).
pub const MAX_NAME_BYTES: usize = 128;
/// An agent's instance id (a host or pod name can be long).
pub const MAX_INSTANCE_ID_BYTES: usize = 200;
/// Free text: a check's error. Over it the text is clamped with a marker
/// (the start of an error says the most).
pub const MAX_TEXT_BYTES: usize = 1024;
/// Checks in one report (an agent runs six kinds, a few components each).
pub const MAX_CHECKS: usize = 64;
/// The largest gRPC message the aggregator decodes. A report is a few KiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What [`clamp_text`] appends to a clamped text.
pub const CLAMP_MARKER: &str = " [clamped: ";

/// Cuts `text` to at most [`MAX_TEXT_BYTES`] on a character boundary and
/// says so at its end, with the length it had. `true` when it was cut.
pub fn clamp_text(text: &mut String) -> bool {
    if text.len() <= MAX_TEXT_BYTES {
        return false;
    }
    let original = text.len();
    let marker = format!("{CLAMP_MARKER}{original} bytes]");
    let mut end = MAX_TEXT_BYTES - marker.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&marker);
    true
}

/// Why `value` is no name: over `max_bytes`, or with control characters
/// (names end up in keys, logs and terminals).
pub fn name_problem(value: &str, max_bytes: usize) -> Option<String> {
    if value.len() > max_bytes {
        return Some(format!(
            "{} bytes (starting {:?}); at most {max_bytes}",
            value.len(),
            value.chars().take(24).collect::<String>()
        ));
    }
    if !has_control(value) {
        return None;
    }
    let bad = value.chars().find(|c| c.is_control())?;
    Some(format!("{value:?} contains the control character {bad:?}"))
}

/// `char::is_control`, fast for the common case: printable ASCII (a loop
/// the compiler vectorises) has none. Every name of every report passes
/// here: walking the chars cost more than the rest of the checks together
/// (callgrind, `report/history_1000`).
fn has_control(value: &str) -> bool {
    if value.bytes().all(|byte| (0x20..0x7f).contains(&byte)) {
        return false;
    }
    value.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        let mut text = "connection refused".to_string();
        assert!(!clamp_text(&mut text));
        assert_eq!(text, "connection refused");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        let mut text = "é".repeat(200_000);
        assert!(clamp_text(&mut text));
        assert!(text.len() <= MAX_TEXT_BYTES, "{}", text.len());
        assert!(text.ends_with(" [clamped: 400000 bytes]"), "{text}");
        assert!(text.starts_with("éé"));
    }

    #[test]
    fn control_characters_are_found_by_bytes_as_by_chars() {
        for text in [
            "", "http", "é", "日本", "a\u{7f}", "\u{85}", "\u{9f}x", "\u{a0}", "x\u{1}",
        ] {
            assert_eq!(
                has_control(text),
                text.chars().any(char::is_control),
                "{text:?}"
            );
        }
    }
}
