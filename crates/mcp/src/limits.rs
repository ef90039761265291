//! Limits on what a tool call may carry, checked before anything deserialises it: how deeply
//! its arguments nest and how large they are. A hostile or broken client gets a tool error
//! naming the limit, and the sidecar goes on answering.
//!
//! Two places check. [`check_arguments`] runs on every `tools/call` before dispatch (arguments
//! deeper than [`MAX_DEPTH`] or larger than [`MAX_BYTES`]). But rmcp parses each stdin line with
//! serde_json, whose recursion limit (128) makes it *silently drop* a deeper message — no answer
//! at all, so the client waits until it gives up. [`screened_stdin`] therefore reads stdin
//! first and rewrites such a line before rmcp sees it: a `tools/call` keeps its id and tool name
//! with empty arguments, and the reason is left in [`Rejections`] for the server to answer with;
//! another request loses its params (rmcp answers it with an error); a notification is dropped.
//! The rewrite reads the line without recursion (serde's `IgnoredAny`/`RawValue` skip values
//! with an explicit stack), so no depth can overflow it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::RequestId;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Deepest nesting of a call's arguments (the arguments object itself is level 1). Real calls
/// use four or five (a strategy's stops); 64 is far below what would threaten the stack.
pub const MAX_DEPTH: usize = 64;

/// Largest arguments of one call, as compact JSON. Real calls are a few kilobytes.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Lines nested deeper than this are rewritten before rmcp parses them (serde_json refuses 128).
const MAX_LINE_DEPTH: usize = 100;

/// rmcp's own line limit (`DEFAULT_MAX_LINE_LENGTH`): longer lines are passed on unread, and
/// rmcp drops them.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Why a call's arguments were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("the arguments are nested {depth} levels deep; at most {MAX_DEPTH} are allowed")]
    TooDeep { depth: usize },
    #[error("the arguments are {bytes} bytes of JSON; at most {MAX_BYTES} (1 MiB) are allowed")]
    TooLarge { bytes: usize },
}

/// Checks a call's arguments: nesting first (without recursion), then size.
pub fn check_arguments(args: &Map<String, Value>) -> Result<(), LimitError> {
    let depth = value_depth(args);
    if depth > MAX_DEPTH {
        return Err(LimitError::TooDeep { depth });
    }
    let mut counter = ByteCount(0);
    // Cannot fail: the writer never does and a Value always serialises.
    let _ = serde_json::to_writer(&mut counter, args);
    if counter.0 > MAX_BYTES {
        return Err(LimitError::TooLarge { bytes: counter.0 });
    }
    Ok(())
}

/// What the audit log records as the arguments of a refused call: not the arguments (they may
/// be megabytes, or too deep to write), but why they were left out.
pub fn omitted(reason: &LimitError) -> Value {
    serde_json::json!({ "omitted": reason.to_string() })
}

/// Longest error message a call answers with, in characters. Messages quote what was sent
/// (`'…' is not a valid symbol`); a 100 KB argument must not come back 100 KB long.
pub const MAX_MESSAGE: usize = 4000;

/// `message`, with its middle elided if it is longer than [`MAX_MESSAGE`] characters.
pub fn bounded(message: String) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE {
        return message;
    }
    let head: String = message.chars().take(MAX_MESSAGE - 500).collect();
    let tail: String = message.chars().skip(count - 400).collect();
    format!(
        "{head} … ({} characters left out) … {tail}",
        count - head.chars().count() - 400
    )
}

struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Nesting depth of an object's values (the object is level 1), with an explicit stack.
fn value_depth(args: &Map<String, Value>) -> usize {
    let mut max = 1;
    let mut stack: Vec<(&Value, usize)> = args.values().map(|v| (v, 2)).collect();
    while let Some((v, level)) = stack.pop() {
        match v {
            Value::Array(items) => {
                max = max.max(level);
                stack.extend(items.iter().map(|i| (i, level + 1)));
            }
            Value::Object(fields) => {
                max = max.max(level);
                stack.extend(fields.values().map(|i| (i, level + 1)));
            }
            _ => {}
        }
    }
    max
}

/// Deepest `[`/`{` nesting in JSON text (brackets inside strings do not count).
fn text_depth(text: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Calls whose arguments [`screened_stdin`] took out, by request id, with the reason; the
/// server answers each with that reason.
#[derive(Debug, Clone, Default)]
pub struct Rejections(Arc<Mutex<HashMap<String, LimitError>>>);

impl Rejections {
    fn key(id: &RequestId) -> String {
        serde_json::to_string(id).unwrap_or_default()
    }

    fn insert(&self, id: &RequestId, reason: LimitError) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(Self::key(id), reason);
        }
    }

    /// The reason the call `id`'s arguments were taken out, if they were (once).
    pub fn take(&self, id: &RequestId) -> Option<LimitError> {
        self.0.lock().ok()?.remove(&Self::key(id))
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    method: Option<String>,
    /// Raw: a wrong shape (an array, a string) must not make serde_json recurse into it.
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    name: String,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

/// What to hand rmcp for one line (without its newline): the line itself, a rewritten one, or
/// nothing.
fn screen(line: &[u8], rejections: &Rejections) -> Option<Vec<u8>> {
    if text_depth(line) <= MAX_LINE_DEPTH {
        return Some(line.to_vec());
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(line) else {
        // Not a message we can read: rmcp ignores unparsable lines, as before.
        return Some(line.to_vec());
    };
    let Some(raw_id) = envelope.id else {
        tracing::warn!("dropped a notification nested over {MAX_LINE_DEPTH} levels deep");
        return None;
    };
    let Ok(id) = serde_json::from_str::<RequestId>(raw_id.get()) else {
        return Some(line.to_vec());
    };
    let method = envelope.method.unwrap_or_default();
    let call = envelope
        .params
        .filter(|_| method == "tools/call")
        .and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok());
    let rewritten = match call {
        Some(CallParams { name, arguments }) => {
            let depth = arguments.map_or(0, |a| text_depth(a.get().as_bytes()));
            rejections.insert(&id, LimitError::TooDeep { depth });
            serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": method,
                "params": { "name": name, "arguments": {} },
            })
        }
        _ => serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method }),
    };
    tracing::warn!(%method, "a request nested over {MAX_LINE_DEPTH} levels deep was cut short");
    serde_json::to_vec(&rewritten).ok()
}

/// Stdin, screened line by line (see the module docs), as a stream rmcp can read. The copying
/// task ends — closing the stream, which ends the session — when stdin does.
pub fn screened_stdin(rejections: Rejections) -> DuplexStream {
    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut stdin = BufReader::with_capacity(64 * 1024, tokio::io::stdin());
        if let Err(err) = relay(&mut stdin, &mut theirs, &rejections).await {
            tracing::error!(%err, "reading stdin failed");
        }
        let _ = theirs.shutdown().await;
    });
    ours
}

async fn relay<R, W>(input: &mut R, output: &mut W, rejections: &Rejections) -> std::io::Result<()>
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *input)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") && n == MAX_LINE {
            // Longer than rmcp accepts: passed on as it is, for rmcp to drop.
            output.write_all(&line).await?;
            loop {
                let buf = input.fill_buf().await?;
                if buf.is_empty() {
                    return Ok(());
                }
                let end = buf.iter().position(|b| *b == b'\n').map(|i| i + 1);
                let take = end.unwrap_or(buf.len());
                output.write_all(&buf[..take]).await?;
                input.consume(take);
                if end.is_some() {
                    break;
                }
            }
            continue;
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if let Some(out) = screen(body, rejections) {
            output.write_all(&out).await?;
            output.write_all(b"\n").await?;
            output.flush().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_and_size_are_named_with_their_limits() {
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(check_arguments(&args(json!({"a": 1, "b": [[1]]}))), Ok(()));
        let deep: Value = serde_json::from_str(&nested(70)).unwrap();
        let e = check_arguments(&args(json!({ "strategy": deep }))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the arguments are nested 71 levels deep; at most 64 are allowed"
        );
        let e = check_arguments(&args(json!({ "symbol": "x".repeat(2 << 20) }))).unwrap_err();
        assert!(
            matches!(e, LimitError::TooLarge { bytes } if bytes > 2 << 20),
            "{e}"
        );
    }

    #[test]
    fn long_messages_keep_their_start_and_end() {
        assert_eq!(bounded("short".into()), "short");
        let long = format!(
            "invalid 'symbol': '{}' is not a valid symbol",
            "x".repeat(100_000)
        );
        let shown = bounded(long);
        assert!(shown.chars().count() < MAX_MESSAGE + 100, "{}", shown.len());
        assert!(shown.starts_with("invalid 'symbol': 'xxx"), "{shown}");
        assert!(shown.ends_with("' is not a valid symbol"), "{shown}");
        assert!(shown.contains("characters left out"), "{shown}");
    }

    #[test]
    fn a_call_too_deep_for_serde_json_keeps_its_id_and_tool() {
        let rejections = Rejections::default();
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"run_backtest","arguments":{{"strategy":{}}}}}}}"#,
            nested(10_000)
        );
        let out = screen(line.as_bytes(), &rejections).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                   "params": {"name": "run_backtest", "arguments": {}}})
        );
        assert_eq!(
            rejections.take(&RequestId::Number(7)),
            Some(LimitError::TooDeep { depth: 10_001 })
        );
        assert_eq!(rejections.take(&RequestId::Number(7)), None);
        // Another request keeps its id and method; a notification is dropped.
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}}"#,
            nested(500)
        );
        let v: Value =
            serde_json::from_slice(&screen(line.as_bytes(), &rejections).unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list"})
        );
        let line = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#,
            nested(500)
        );
        assert_eq!(screen(line.as_bytes(), &rejections), None);
    }

    #[tokio::test]
    async fn the_relay_passes_ordinary_lines_unchanged() {
        let input = b"{\"a\":\"[[[\\\"\"}\r\n\n{\"b\":1}".to_vec();
        let mut out = Vec::new();
        relay(&mut &input[..], &mut out, &Rejections::default())
            .await
            .unwrap();
        assert_eq!(out, b"{\"a\":\"[[[\\\"\"}\r\n\n{\"b\":1}\n");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        /// Random bytes and random bracket soup: screening never panics, and what it passes on
        /// is either the line or a message serde_json parses.
        #[test]
        fn screening_never_panics(
            bytes in prop::collection::vec(
                prop::sample::select(&b"[]{}\",:\\ 1ax"[..]), 0..3000),
            depth in 0usize..3000,
        ) {
            let rejections = Rejections::default();
            let _ = screen(&bytes, &rejections);
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t","arguments":{{"x":{}}}}}}}"#,
                nested(depth)
            );
            let out = screen(line.as_bytes(), &rejections).unwrap();
            let parsed = serde_json::from_slice::<Value>(&out);
            prop_assert!(parsed.is_ok());
            prop_assert_eq!(rejections.take(&RequestId::Number(1)).is_some(), depth + 3 > MAX_LINE_DEPTH);
        }
    }
}
