//! Turning what Claude sends into typed parameters. Claude Desktop is known to send numbers as
//! strings (`"10"`) and lists as JSON text (`"[\"BTC/USD\"]"`); we accept both, guided by the
//! tool's own input schema, and refuse anything else with a message naming the field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A message for the person, shown by Claude. Never a stack trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Reads `args` into `P`, first coercing strings that stand for numbers, booleans, lists or
/// objects where `schema` expects those.
pub fn parse<P: DeserializeOwned>(
    schema: &Map<String, Value>,
    args: Map<String, Value>,
) -> Result<P, ToolError> {
    let mut value = Value::Object(args);
    coerce(schema, schema, &mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        if path == "." || path.is_empty() {
            ToolError(format!("invalid input: {inner}"))
        } else {
            ToolError(format!("invalid '{path}': {inner}"))
        }
    })
}

/// The types a schema node allows (`"type": "x"` or `"type": [..]`), following `$ref` and
/// `anyOf`/`oneOf` one level, which is what schemars emits for options and enums.
fn allowed_types<'a>(root: &'a Map<String, Value>, node: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut out = Vec::new();
    match node.get("type") {
        Some(Value::String(t)) => out.push(t.as_str()),
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str)),
        _ => {}
    }
    if let Some(target) = resolve_ref(root, node) {
        out.extend(allowed_types(root, target));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = node.get(key) {
            for v in variants.iter().filter_map(Value::as_object) {
                out.extend(allowed_types(root, v));
            }
        }
    }
    out
}

fn resolve_ref<'a>(
    root: &'a Map<String, Value>,
    node: &Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    let reference = node.get("$ref")?.as_str()?;
    let name = reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))?;
    root.get("$defs")
        .or_else(|| root.get("definitions"))?
        .get(name)?
        .as_object()
}

fn coerce(root: &Map<String, Value>, node: &Map<String, Value>, value: &mut Value) {
    let node = resolve_ref(root, node).unwrap_or(node);
    let types = allowed_types(root, node);
    if let Value::String(text) = value {
        if !types.contains(&"string") {
            let trimmed = text.trim();
            let parsed = if types.contains(&"integer") || types.contains(&"number") {
                serde_json::from_str::<Value>(trimmed)
                    .ok()
                    .filter(Value::is_number)
            } else if types.contains(&"boolean") {
                match trimmed.to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                }
            } else if types.contains(&"array") || types.contains(&"object") {
                serde_json::from_str::<Value>(trimmed)
                    .ok()
                    .filter(|v| v.is_array() || v.is_object())
            } else {
                None
            };
            if let Some(parsed) = parsed {
                *value = parsed;
            }
        } else if types.contains(&"array")
            && text.trim_start().starts_with('[')
            && let Ok(parsed @ Value::Array(_)) = serde_json::from_str::<Value>(text.trim())
        {
            *value = parsed;
        }
    }
    match value {
        Value::Object(fields) => {
            let props = node.get("properties").and_then(Value::as_object);
            // Maps (`{"period": "14"}`) describe their values with `additionalProperties`.
            let rest = node.get("additionalProperties").and_then(Value::as_object);
            for (key, field) in fields.iter_mut() {
                if let Some(sub) = props
                    .and_then(|p| p.get(key))
                    .and_then(Value::as_object)
                    .or(rest)
                {
                    coerce(root, sub, field);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items").and_then(Value::as_object) {
                for item in items {
                    coerce(root, item_schema, item);
                }
            }
        }
        _ => {}
    }
    // Options and one-of types: coerce against whichever variant describes the value's shape.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = node.get(key) {
            for v in variants.iter().filter_map(Value::as_object) {
                if v.get("type").and_then(Value::as_str) != Some("null")
                    && (v.contains_key("properties")
                        || v.contains_key("items")
                        || v.contains_key("$ref"))
                {
                    coerce(root, v, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct P {
        symbol: String,
        limit: Option<u32>,
        symbols: Option<Vec<String>>,
        flag: Option<bool>,
    }

    fn schema() -> Map<String, Value> {
        rmcp::handler::server::common::schema_for_input::<P>()
            .unwrap()
            .as_ref()
            .clone()
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_and_lists_sent_as_strings_are_accepted() {
        let p: P = parse(
            &schema(),
            args(json!({"symbol": "GOOG", "limit": "10", "symbols": "[\"BTC/USD\",\"ETH/USD\"]", "flag": "true"})),
        )
        .unwrap();
        assert_eq!(p.limit, Some(10));
        assert_eq!(p.symbols.unwrap(), ["BTC/USD", "ETH/USD"]);
        assert_eq!(p.flag, Some(true));
    }

    #[test]
    fn errors_name_the_field() {
        let err =
            parse::<P>(&schema(), args(json!({"symbol": "GOOG", "limit": "ten"}))).unwrap_err();
        assert!(err.0.contains("'limit'"), "{err}");
        let err = parse::<P>(&schema(), args(json!({"limit": 3}))).unwrap_err();
        assert!(err.0.contains("symbol"), "{err}");
        let err = parse::<P>(&schema(), args(json!({"symbol": 5}))).unwrap_err();
        assert!(err.0.contains("'symbol'"), "{err}");
    }
}
