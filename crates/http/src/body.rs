//! Request bodies: size-limited before parsing, JSON objects only, and the
//! typed field readers that name the field in every error.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::ApiError;
use crate::state::Shared;

/// Nesting deeper than this is refused (serde_json stops at 128 anyway).
const MAX_DEPTH: usize = 32;

/// Read at most `limit` bytes of body; a larger one is refused before any
/// parsing (and so before any hashing).
pub(crate) async fn read_limited(
    body: Body,
    declared: Option<usize>,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(limit))
}

pub(crate) fn content_length(req: &Request) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A JSON object body.
#[derive(Debug, Default)]
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl<S: Send + Sync + 'static> FromRequest<Shared<S>> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Shared<S>) -> Result<Self, Self::Rejection> {
        let declared = content_length(&req);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        let bytes = read_limited(req.into_body(), declared, state.body_limit).await?;
        parse_object(&bytes, is_json).map(Self)
    }
}

/// A body (already size-limited) as a JSON object; `is_json` is whether the
/// Content-Type said `application/json` (`None`: no Content-Type).
pub(crate) fn parse_object(
    bytes: &[u8],
    is_json: Option<bool>,
) -> Result<Map<String, Value>, ApiError> {
    // No body at all is an empty object, whatever it is declared as: DRF
    // (Label Studio's framework) reads a zero-length body so, and clients
    // send one with their session's JSON Content-Type. A body of blanks
    // declared JSON is not JSON: 400, as in DRF.
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return match is_json {
            Some(true) => Err(ApiError::BadRequest(
                "JSON parse error: the body is only blanks; send an object such as {}.".into(),
            )),
            _ => Ok(Map::new()),
        };
    }
    if is_json != Some(true) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: Value = serde_json::from_slice::<Strict>(bytes)
        .map(|s| s.0)
        .map_err(|e| ApiError::BadRequest(format!("JSON parse error: {e}")))?;
    if depth(&value) > MAX_DEPTH {
        return Err(ApiError::BadRequest("JSON is nested too deeply.".into()));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest("Expected a JSON object.".into())),
    }
}

/// A JSON value in which no object repeats a key: with a repeated key,
/// which one counts is a guess (serde_json keeps the last), so the body is
/// refused, as repeated form and JWT fields are.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} is repeated"
                )));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Typed access to fields, collecting one message per bad field.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) errors: Vec<(String, String)>,
}

impl Fields {
    fn bad(&mut self, field: &str, message: &str) {
        self.errors.push((field.to_owned(), message.to_owned()));
    }

    /// A string field; `null` counts as absent unless `nullable`.
    pub(crate) fn string(&mut self, map: &Map<String, Value>, field: &str) -> Option<String> {
        match map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.bad(field, "Not a valid string.");
                None
            }
        }
    }

    /// `Some(None)` for an explicit `null`.
    pub(crate) fn nullable_string(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
    ) -> Option<Option<String>> {
        match map.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => {
                self.bad(field, "Not a valid string.");
                None
            }
        }
    }

    pub(crate) fn required_string(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
    ) -> Option<String> {
        let v = self.string(map, field);
        if v.as_deref().is_none_or(|s| s.trim().is_empty())
            && !self.errors.iter().any(|(f, _)| f == field)
        {
            self.bad(field, "This field is required.");
        }
        v
    }

    pub(crate) fn boolean(&mut self, map: &Map<String, Value>, field: &str) -> Option<bool> {
        match map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.bad(field, "Must be a valid boolean.");
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, map: &Map<String, Value>, field: &str) -> Option<i64> {
        match map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => {
                self.bad(field, "A valid integer is required.");
                None
            }
        }
    }

    /// Fields that may never be set through this endpoint.
    pub(crate) fn refuse(&mut self, map: &Map<String, Value>, fields: &[&str]) {
        for f in fields {
            if map.contains_key(*f) {
                self.bad(f, "This field cannot be changed.");
            }
        }
    }

    /// Endpoints with a closed set of fields: anything else is named and refused.
    pub(crate) fn only(&mut self, map: &Map<String, Value>, allowed: &[&str]) {
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                self.bad(k, "Unknown field.");
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_errors_name_the_field() {
        let map = json!({"a": 1, "b": "x", "c": null, "d": true})
            .as_object()
            .unwrap()
            .clone();
        let mut f = Fields::default();
        assert_eq!(f.string(&map, "b").as_deref(), Some("x"));
        assert_eq!(f.string(&map, "a"), None);
        assert_eq!(f.nullable_string(&map, "c"), Some(None));
        assert_eq!(f.boolean(&map, "d"), Some(true));
        assert_eq!(f.integer(&map, "b"), None);
        f.required_string(&map, "missing");
        f.refuse(&map, &["d"]);
        let names: Vec<&str> = f.errors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "missing", "d"]);
    }

    #[test]
    fn depth_counts_nesting() {
        assert_eq!(depth(&json!({"a": [[1]]})), 3);
        assert_eq!(depth(&json!(1)), 0);
    }

    #[test]
    fn repeated_keys_and_empty_json_are_refused() {
        let parse = |b: &str, json| parse_object(b.as_bytes(), json);
        assert!(parse(r#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#, Some(true)).is_ok());
        for body in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": {"b": 1, "b": 1}}"#,
            r#"{"a": [{"b": 1, "b": 2}]}"#,
        ] {
            let e = parse(body, Some(true)).unwrap_err().to_string();
            assert!(e.contains("is repeated"), "{body}: {e}");
        }
        assert!(
            parse("", Some(true)).unwrap().is_empty(),
            "DRF reads no body as {{}}"
        );
        assert!(parse("  ", Some(true)).is_err());
        assert!(parse("", None).unwrap().is_empty());
        assert!(parse("  ", None).unwrap().is_empty());
        let big = parse(
            r#"{"n": 18446744073709551615, "f": 1.5, "z": null}"#,
            Some(true),
        )
        .unwrap();
        assert_eq!(big["n"], json!(18_446_744_073_709_551_615u64));
        assert_eq!(big["f"], json!(1.5));
        assert!(big["z"].is_null());
    }
}
