//! Checks of what clients send; each failure is a message for the client.

use serde_json::Value;

/// Longest user name, in characters.
pub const MAX_NAME: usize = 32;
/// Longest room name, in characters.
pub const MAX_ROOM: usize = 64;
/// Most messages one history page returns.
pub const MAX_PAGE: usize = 200;
/// History page size when the client names none, and on join.
pub const DEFAULT_PAGE: usize = 50;

pub type Invalid = String;

/// A trimmed, non-empty string of at most `max` characters.
fn text_field(value: Option<&Value>, what: &str, max: usize) -> Result<String, Invalid> {
    let Some(Value::String(text)) = value else {
        return Err(format!("{what} must be a string"));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    Ok(text.to_owned())
}

pub fn name(value: Option<&Value>) -> Result<String, Invalid> {
    text_field(value, "name", MAX_NAME)
}

pub fn room(value: Option<&Value>) -> Result<String, Invalid> {
    text_field(value, "room", MAX_ROOM)
}

pub fn message(value: Option<&Value>, max: usize) -> Result<String, Invalid> {
    text_field(value, "message", max)
}

/// `{room, message}` of `room:message`.
pub fn room_message(value: Option<&Value>, max: usize) -> Result<(String, String), Invalid> {
    let Some(Value::Object(fields)) = value else {
        return Err("expected {room, message}".to_owned());
    };
    Ok((
        room(fields.get("room"))?,
        message(fields.get("message"), max)?,
    ))
}

/// `{room?, before?, limit?}` of `chat:history`.
pub fn history(value: Option<&Value>) -> Result<(Option<String>, Option<i64>, usize), Invalid> {
    let fields = match value {
        None | Some(Value::Null) => return Ok((None, None, DEFAULT_PAGE)),
        Some(Value::Object(fields)) => fields,
        Some(_) => return Err("expected {room?, before?, limit?}".to_owned()),
    };
    let room = match fields.get("room") {
        None | Some(Value::Null) => None,
        other => Some(room(other)?),
    };
    let before = match fields.get("before") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|b| *b > 0)
                .ok_or("before must be a message id")?,
        ),
    };
    let limit = match fields.get("limit") {
        None | Some(Value::Null) => DEFAULT_PAGE,
        Some(v) => {
            let limit = v.as_u64().filter(|l| (1..=MAX_PAGE as u64).contains(l));
            limit.ok_or(format!("limit must be a whole number from 1 to {MAX_PAGE}"))? as usize
        }
    };
    Ok((room, before, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_messages() {
        assert_eq!(name(Some(&json!("  ada "))), Ok("ada".to_owned()));
        assert!(name(Some(&json!(""))).is_err());
        assert!(name(Some(&json!(42))).is_err());
        assert!(name(None).is_err());
        assert!(name(Some(&json!("x".repeat(33)))).is_err());
        assert!(
            name(Some(&json!("é".repeat(32)))).is_ok(),
            "characters, not bytes"
        );
        assert!(message(Some(&json!("x".repeat(4001))), 4000).is_err());
        assert!(message(Some(&json!("x".repeat(4000))), 4000).is_ok());
    }

    #[test]
    fn history_queries() {
        assert_eq!(history(None), Ok((None, None, 50)));
        assert_eq!(
            history(Some(&json!({"room": "r", "before": 10, "limit": 200}))),
            Ok((Some("r".into()), Some(10), 200))
        );
        assert!(history(Some(&json!({"limit": 201}))).is_err());
        assert!(history(Some(&json!({"limit": 0}))).is_err());
        assert!(history(Some(&json!({"before": "x"}))).is_err());
        assert!(history(Some(&json!("x"))).is_err());
    }
}
