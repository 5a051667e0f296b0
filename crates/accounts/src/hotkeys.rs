//! A user's custom hotkeys, as Label Studio's editor stores them:
//! `{"<section>:<action>": {"key": "<combo>", "active": <bool>}}`. A bare
//! combo string is accepted for an entry too. Everything is bounded, so a
//! profile cannot be used as free storage.

use serde_json::{Map, Value};
use thiserror::Error;

pub const MAX_HOTKEYS: usize = 200;
pub const MAX_HOTKEY_NAME_CHARS: usize = 64;
pub const MAX_HOTKEY_COMBO_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HotkeyError {
    #[error("Expected an object of hotkeys.")]
    NotAnObject,
    #[error("At most {MAX_HOTKEYS} hotkeys are allowed.")]
    TooMany,
    #[error(
        "Hotkey names are 1 to {MAX_HOTKEY_NAME_CHARS} characters of letters, digits, '_', '-', '.' and ':'."
    )]
    BadName,
    #[error(
        "Hotkey \"{0}\": the key combination must be a non-empty string of at most {MAX_HOTKEY_COMBO_CHARS} characters without control characters."
    )]
    BadCombo(String),
    #[error(
        "Hotkey \"{0}\": expected a key combination string or {{\"key\": <string>, \"active\": <boolean>}}."
    )]
    BadEntry(String),
}

/// Validated hotkeys, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hotkeys(Map<String, Value>);

fn name_ok(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_HOTKEY_NAME_CHARS).contains(&n)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn combo_ok(combo: &str) -> bool {
    let n = combo.chars().count();
    (1..=MAX_HOTKEY_COMBO_CHARS).contains(&n)
        && !combo.chars().any(char::is_control)
        && combo.trim() == combo
}

impl Hotkeys {
    pub fn parse(value: &Value) -> Result<Self, HotkeyError> {
        let Value::Object(map) = value else {
            return Err(HotkeyError::NotAnObject);
        };
        if map.len() > MAX_HOTKEYS {
            return Err(HotkeyError::TooMany);
        }
        let mut out = Map::new();
        for (name, entry) in map {
            if !name_ok(name) {
                return Err(HotkeyError::BadName);
            }
            let clean = match entry {
                Value::String(combo) if combo_ok(combo) => Value::String(combo.clone()),
                Value::String(_) => return Err(HotkeyError::BadCombo(name.clone())),
                Value::Object(fields) => {
                    let mut clean = Map::new();
                    for (k, v) in fields {
                        match (k.as_str(), v) {
                            ("key", Value::String(combo)) if combo_ok(combo) => {
                                clean.insert("key".into(), Value::String(combo.clone()));
                            }
                            ("key", _) => return Err(HotkeyError::BadCombo(name.clone())),
                            ("active", Value::Bool(b)) => {
                                clean.insert("active".into(), Value::Bool(*b));
                            }
                            _ => return Err(HotkeyError::BadEntry(name.clone())),
                        }
                    }
                    if !clean.contains_key("key") {
                        return Err(HotkeyError::BadEntry(name.clone()));
                    }
                    Value::Object(clean)
                }
                _ => return Err(HotkeyError::BadEntry(name.clone())),
            };
            out.insert(name.clone(), clean);
        }
        Ok(Self(out))
    }

    /// Reads what storage holds; anything unreadable is no hotkeys.
    pub fn from_stored(text: &str) -> Self {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| Self::parse(&v).ok())
            .unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    pub fn to_stored(&self) -> String {
        self.to_value().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn label_studio_shapes_round_trip() {
        let v = json!({
            "annotation:submit": {"key": "ctrl+enter", "active": true},
            "regions:delete": "backspace",
            "image:zoom-in": {"key": "+"}
        });
        let h = Hotkeys::parse(&v).unwrap();
        assert_eq!(h.to_value(), v);
        assert_eq!(Hotkeys::from_stored(&h.to_stored()), h);
        assert_eq!(Hotkeys::from_stored("not json"), Hotkeys::default());
    }

    #[test]
    fn bad_input_names_the_entry() {
        let cases = [
            (json!([]), HotkeyError::NotAnObject),
            (json!({"": "a"}), HotkeyError::BadName),
            (json!({"a b": "a"}), HotkeyError::BadName),
            (json!({"x".repeat(65): "a"}), HotkeyError::BadName),
            (json!({"a": ""}), HotkeyError::BadCombo("a".into())),
            (json!({"a": " ctrl"}), HotkeyError::BadCombo("a".into())),
            (json!({"a": "k\u{0}"}), HotkeyError::BadCombo("a".into())),
            (
                json!({"a": "k".repeat(65)}),
                HotkeyError::BadCombo("a".into()),
            ),
            (json!({"a": {"key": 1}}), HotkeyError::BadCombo("a".into())),
            (
                json!({"a": {"active": true}}),
                HotkeyError::BadEntry("a".into()),
            ),
            (
                json!({"a": {"key": "k", "x": 1}}),
                HotkeyError::BadEntry("a".into()),
            ),
            (
                json!({"a": {"key": "k", "active": "yes"}}),
                HotkeyError::BadEntry("a".into()),
            ),
            (json!({"a": 5}), HotkeyError::BadEntry("a".into())),
            (json!({"a": null}), HotkeyError::BadEntry("a".into())),
        ];
        for (v, e) in cases {
            assert_eq!(Hotkeys::parse(&v), Err(e), "{v}");
        }
        let many: Map<String, Value> = (0..=MAX_HOTKEYS)
            .map(|i| (format!("k{i}"), json!("a")))
            .collect();
        assert_eq!(
            Hotkeys::parse(&Value::Object(many)),
            Err(HotkeyError::TooMany)
        );
    }

    proptest! {
        #[test]
        fn accepted_hotkeys_stay_within_bounds(
            entries in proptest::collection::btree_map("\\PC{0,70}", "\\PC{0,70}", 0..20)
        ) {
            let v = Value::Object(entries.into_iter().map(|(k, c)| (k, Value::String(c))).collect());
            if let Ok(h) = Hotkeys::parse(&v) {
                prop_assert!(h.to_stored().len() <= MAX_HOTKEYS * (MAX_HOTKEY_NAME_CHARS + MAX_HOTKEY_COMBO_CHARS) * 4 + 1024);
                for (name, combo) in h.0.iter() {
                    prop_assert!(name_ok(name));
                    prop_assert!(combo.as_str().is_some_and(combo_ok));
                }
            }
        }
    }
}
