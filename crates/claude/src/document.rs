//! The config file as an ordered list of top-level members whose values are kept as the exact
//! JSON text they were written in. Only `mcpServers` is opened (the same way), and only our entry
//! in it is ever produced by us: everything else goes back out byte for byte, in its order.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ClaudeError;

const SERVERS: &str = "mcpServers";

/// An object's members in file order, values as raw JSON text.
#[derive(Debug, Default)]
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl Members {
    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == key).count()
    }

    /// Pretty-prints at `depth` (two spaces a level); values go out as they came in.
    fn write(&self, out: &mut String, depth: usize) {
        if self.0.is_empty() {
            out.push_str("{}");
            return;
        }
        let pad = "  ".repeat(depth + 1);
        out.push_str("{\n");
        for (i, (key, value)) in self.0.iter().enumerate() {
            out.push_str(&pad);
            // A String always serialises.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push_str(": ");
            out.push_str(value.get());
            if i + 1 < self.0.len() {
                out.push(',');
            }
            out.push('\n');
        }
        out.push_str(&"  ".repeat(depth));
        out.push('}');
    }
}

/// A parsed config file.
#[derive(Debug)]
pub(crate) struct Document {
    path: PathBuf,
    top: Members,
    /// `mcpServers`, opened; `None` while the file has none.
    servers: Option<Members>,
}

impl Document {
    /// Parses `text`; an empty (or all-whitespace) file is an empty object. Anything that is not
    /// a JSON object, or whose `mcpServers` is not an object, is refused.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, ClaudeError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let invalid = |reason: String| ClaudeError::InvalidJson {
            path: path.to_path_buf(),
            reason,
        };
        let shape = |what: String| ClaudeError::UnexpectedShape {
            path: path.to_path_buf(),
            what,
        };
        let top: Members = if text.trim().is_empty() {
            Members::default()
        } else {
            // Parse as a value first so "valid JSON, but not an object" gets its own message.
            let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
            if !value.is_object() {
                return Err(shape(format!(
                    "the top level is {}, not an object",
                    kind(&value)
                )));
            }
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?
        };
        let servers = match top.count(SERVERS) {
            0 => None,
            1 => {
                let raw = top
                    .position(SERVERS)
                    .map(|i| top.0[i].1.get())
                    .unwrap_or("");
                let value: Value = serde_json::from_str(raw).map_err(|e| invalid(e.to_string()))?;
                if !value.is_object() {
                    return Err(shape(format!(
                        "\"{SERVERS}\" is {}, not an object",
                        kind(&value)
                    )));
                }
                Some(serde_json::from_str(raw).map_err(|e| invalid(e.to_string()))?)
            }
            n => return Err(shape(format!("\"{SERVERS}\" appears {n} times"))),
        };
        Ok(Self {
            path: path.to_path_buf(),
            top,
            servers,
        })
    }

    /// The entry `name` under `mcpServers`, as a value.
    pub(crate) fn server(&self, name: &str) -> Result<Option<Value>, ClaudeError> {
        let Some(servers) = &self.servers else {
            return Ok(None);
        };
        match servers.count(name) {
            0 => Ok(None),
            1 => {
                let raw = servers
                    .position(name)
                    .map(|i| servers.0[i].1.get())
                    .unwrap_or("null");
                serde_json::from_str(raw)
                    .map(Some)
                    .map_err(|e| ClaudeError::InvalidJson {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    })
            }
            n => Err(ClaudeError::UnexpectedShape {
                path: self.path.clone(),
                what: format!("the server \"{name}\" appears {n} times under \"{SERVERS}\""),
            }),
        }
    }

    /// Sets the entry `name` (in place if present, else appended).
    pub(crate) fn set_server(&mut self, name: &str, value: &Value) -> Result<(), ClaudeError> {
        let text = indent(
            &serde_json::to_string_pretty(value).unwrap_or_default(),
            "    ",
        );
        let raw = RawValue::from_string(text).map_err(|e| ClaudeError::InvalidJson {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let servers = self.servers.get_or_insert_with(Members::default);
        match servers.position(name) {
            Some(i) => servers.0[i].1 = raw,
            None => servers.0.push((name.to_string(), raw)),
        }
        Ok(())
    }

    /// Removes the entry `name`; true if it was there.
    pub(crate) fn remove_server(&mut self, name: &str) -> Result<bool, ClaudeError> {
        let Some(servers) = &mut self.servers else {
            return Ok(false);
        };
        let before = servers.0.len();
        servers.0.retain(|(k, _)| k != name);
        Ok(servers.0.len() != before)
    }

    /// The file's new text: untouched members verbatim, `mcpServers` rebuilt from its members.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let mut top = Members(
            self.top
                .0
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        if let Some(servers) = &self.servers {
            let mut text = String::new();
            servers.write(&mut text, 1);
            // Members::write only emits valid JSON around raw values that were valid JSON.
            if let Ok(raw) = RawValue::from_string(text) {
                match top.position(SERVERS) {
                    Some(i) => top.0[i].1 = raw,
                    None => top.0.push((SERVERS.to_string(), raw)),
                }
            }
        }
        top.write(&mut out, 0);
        out.push('\n');
        out
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Indents every line but the first (the first follows `"key": `).
fn indent(text: &str, pad: &str) -> String {
    let mut lines = text.lines();
    let mut out = lines.next().unwrap_or_default().to_string();
    for line in lines {
        out.push('\n');
        out.push_str(pad);
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Document, ClaudeError> {
        Document::parse(Path::new("/x/claude_desktop_config.json"), text)
    }

    #[test]
    fn other_members_come_back_byte_for_byte_in_order() {
        let text = "{\"z\": [1,  2,3], \"mcpServers\": {\"b\": {\"command\":\"b\",\"env\":{\"K\":\"v\"}}}, \"a\": {\"x\" : 1.50}}";
        let mut doc = parse(text).unwrap();
        doc.set_server("quantdesk", &json!({"command": "/q", "args": []}))
            .unwrap();
        let out = doc.render();
        assert!(out.contains("\"z\": [1,  2,3]"), "{out}");
        assert!(out.contains("\"a\": {\"x\" : 1.50}"), "{out}");
        assert!(
            out.contains("\"b\": {\"command\":\"b\",\"env\":{\"K\":\"v\"}}"),
            "{out}"
        );
        let z = out.find("\"z\"").unwrap();
        let servers = out.find("\"mcpServers\"").unwrap();
        let a = out.find("\"a\"").unwrap();
        assert!(z < servers && servers < a, "order kept: {out}");
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["mcpServers"]["quantdesk"]["command"], "/q");
    }

    #[test]
    fn empty_text_is_an_empty_object_and_bom_is_ignored() {
        assert!(
            parse("  \n")
                .unwrap()
                .server("quantdesk")
                .unwrap()
                .is_none()
        );
        assert!(parse("\u{feff}{}").is_ok());
    }

    #[test]
    fn shapes_that_are_not_objects_are_refused() {
        for (text, says) in [
            ("[]", "the top level is a list"),
            ("{\"mcpServers\": 3}", "\"mcpServers\" is a number"),
            (
                "{\"mcpServers\": {}, \"mcpServers\": {}}",
                "appears 2 times",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(matches!(
            parse("{\"a\": }"),
            Err(ClaudeError::InvalidJson { .. })
        ));
    }
}
