//! The tool catalogue and dispatch. Each tool is a typed parameter struct (its JSON schema is the
//! tool's input schema), a typed output (its output schema), annotations, and a handler a few
//! lines long over the library crates.

mod analysis;
pub(crate) mod backtest;
mod market;
pub mod trading;

use std::sync::{Arc, LazyLock};

use quantdesk_market::MarketData;
use quantdesk_store::Store;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::input::{ToolError, parse};

/// What every handler may use.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub store: Store,
    pub market: Arc<dyn MarketData>,
    /// The trading desk; `None` where a test builds a sidecar without one.
    pub trading: Option<Arc<trading::Trading>>,
    /// Where a long call (an order waiting for approval) reports progress, if the client asked.
    pub progress: Option<trading::Progress>,
    /// Cancelled when the client cancels this call (`notifications/cancelled`).
    pub cancel: Option<tokio_util::sync::CancellationToken>,
}

/// The tool catalogue, built once: `tools/list` is answered from it without allocation beyond a
/// clone, which keeps the sidecar's cold start short.
pub fn catalog() -> &'static [Tool] {
    static CATALOG: LazyLock<Vec<Tool>> = LazyLock::new(|| {
        market::tools()
            .into_iter()
            .chain(analysis::tools())
            .chain(backtest::tools())
            .chain(trading::tools())
            .collect()
    });
    &CATALOG
}

/// Runs the tool `name` with Claude's `args`.
pub async fn call(ctx: &Ctx, name: &str, args: Map<String, Value>) -> Result<Value, ToolError> {
    if let Some(result) = backtest::call(ctx, name, args.clone()).await {
        return result;
    }
    let result = match market::call(ctx, name, args.clone()).await {
        Some(result) => Some(result),
        None => match analysis::call(ctx, name, args.clone()).await {
            Some(result) => Some(result),
            None => trading::call(ctx, name, args).await,
        },
    };
    match result {
        Some(result) => result,
        None => Err(ToolError(format!(
            "there is no tool '{name}'; available: {}",
            catalog()
                .iter()
                .map(|t| t.name.as_ref())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// How a tool may affect the world, for the client's permission prompts. Claude Desktop lets a
/// person pre-allow only tools marked read-only.
#[derive(Debug, Clone, Copy)]
pub enum Effect {
    /// Reads data; may ask a data provider over the network.
    ReadOnly,
    /// Places or cancels orders: money may move (destructive, whatever the guard allows).
    Trades { idempotent: bool },
    /// Writes a new file under the data folder (a report); overwrites nothing.
    WritesFile,
}

/// A tool's definition from its parameter and output types.
pub fn define<P: JsonSchema + 'static, O: JsonSchema + 'static>(
    name: &'static str,
    title: &str,
    description: &'static str,
    effect: Effect,
) -> Tool {
    let input = lean_input(
        schema_for_input::<P>()
            .unwrap_or_else(|err| panic!("input schema of {name}: {err}"))
            .as_ref()
            .clone(),
    );
    let annotations = match effect {
        Effect::ReadOnly => ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
        Effect::Trades { idempotent } => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(true)
            .idempotent(idempotent)
            .open_world(true),
        Effect::WritesFile => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(false)
            .idempotent(false)
            .open_world(true),
    };
    let output = lean_output(numbers_for_money(schema_for_output::<O>().as_ref().clone()));
    Tool::new(name, description, Arc::new(input))
        .with_title(title)
        .with_raw_output_schema(Arc::new(output))
        .with_annotations(annotations)
}

/// Parses `args` as `P`, runs `handler`, and serialises its answer.
pub async fn run<P, O, F>(
    args: Map<String, Value>,
    handler: impl FnOnce(P) -> F,
) -> Result<Value, ToolError>
where
    P: DeserializeOwned + JsonSchema + 'static,
    O: Serialize,
    F: Future<Output = Result<O, ToolError>>,
{
    let schema = schema_for_input::<P>().map_err(ToolError)?;
    let params: P = parse(&schema, args)?;
    let out = handler(params).await?;
    serde_json::to_value(out)
        .map_err(|err| ToolError(format!("could not encode the answer: {err}")))
}

/// The published input schema: what a model needs to call the tool, without what it does not
/// read — the draft URI and the machine widths of numbers (`double`, `uint32`, …). Parsing uses
/// the full schema (see [`run`]); this copy only goes into `tools/list`.
fn lean_input(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                let numeric = o.get("format").and_then(Value::as_str).is_some_and(|f| {
                    matches!(
                        f,
                        "double"
                            | "float"
                            | "int"
                            | "uint"
                            | "int8"
                            | "uint8"
                            | "int16"
                            | "uint16"
                            | "int32"
                            | "uint32"
                            | "int64"
                            | "uint64"
                    )
                });
                if numeric {
                    o.remove("format");
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    schema.remove("$schema");
    schema.values_mut().for_each(walk);
    schema
}

/// Output schemas are for validation, not for the model to read: dropping their prose keeps the
/// tool list small (every byte of it sits in Claude's context on every turn).
fn lean_output(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for key in [
                    "description",
                    "title",
                    "$schema",
                    "examples",
                    "format",
                    "minimum",
                ] {
                    // A property *named* like a keyword is data shape, not prose: keep it.
                    if o.get(key).is_some_and(|v| !v.is_object()) {
                        o.remove(key);
                    }
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    // `required` too: it only repeats the properties' names, and the answer's shape is fixed by
    // its Rust type.
    for key in ["description", "title", "$schema", "required"] {
        schema.remove(key);
    }
    // Nested types keep their kind but not their fields: the top level is what a client checks
    // and reads; spelling out every nested record would cost more context than it is worth.
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(d) = def {
                d.retain(|k, _| k == "type" || k == "enum");
            }
        }
    }
    schema.values_mut().for_each(walk);
    schema
}

/// Money is `Decimal` in Rust and a JSON number on the wire (rust_decimal's `serde-float`), but
/// schemars describes `Decimal` as a string; say "number" so clients that validate structured
/// output against the schema accept what we send.
fn numbers_for_money(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                let is_decimal =
                    o.get("pattern").and_then(Value::as_str) == Some(r"^-?\d+(\.\d+)?$");
                if is_decimal {
                    o.remove("pattern");
                    match o.get_mut("type") {
                        Some(Value::Array(types)) => {
                            for t in types.iter_mut() {
                                if t == "string" {
                                    *t = Value::from("number");
                                }
                            }
                        }
                        Some(t) => *t = Value::from("number"),
                        None => {}
                    }
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    schema.values_mut().for_each(walk);
    schema
}

impl From<quantdesk_market::MarketError> for ToolError {
    fn from(err: quantdesk_market::MarketError) -> Self {
        ToolError(err.to_string())
    }
}

impl From<quantdesk_domain::DomainError> for ToolError {
    fn from(err: quantdesk_domain::DomainError) -> Self {
        ToolError(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_schemas_and_annotations() {
        for tool in catalog() {
            assert!(tool.output_schema.is_some(), "{}", tool.name);
            let a = tool.annotations.as_ref().unwrap();
            assert!(a.title.is_some(), "{}", tool.name);
            assert!(
                tool.description.as_ref().is_some_and(|d| d.len() < 600),
                "{} description too long",
                tool.name
            );
        }
    }

    #[test]
    fn money_is_described_as_numbers() {
        let text = serde_json::to_string(catalog()).unwrap();
        assert!(
            !text.contains(r#"^-?\\d+(\\.\\d+)?$"#),
            "a Decimal still described as a string"
        );
    }
}
