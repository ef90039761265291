//! The audit viewer: entries filtered by kind, symbol and date, searched by words, shown as
//! readable fields (never raw JSON), exported to CSV, and the chain verified.

use std::path::Path;

use chrono::NaiveDate;
use quantdesk_store::{AuditEntry, AuditFilter};
use serde_json::Value;

use crate::views::{AuditPage, AuditQuery, AuditRow, ChainCheck, Exported, Field};
use crate::{Desktop, DesktopError};

/// The most entries one query reads from the store before filtering by date and words.
const SCAN: i64 = 20_000;
const DEFAULT_ROWS: u32 = 500;

/// Nested JSON flattened to `name = text` pairs (`request.symbol`, `changes.0.field`).
pub(crate) fn fields(value: &Value) -> Vec<Field> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<Field>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, out);
                }
            }
            Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                out.push(Field {
                    name: prefix.into(),
                    value: items.iter().map(scalar).collect::<Vec<_>>().join(", "),
                });
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}.{}", i + 1), v, out);
                }
            }
            Value::Null => {}
            other => out.push(Field {
                name: if prefix.is_empty() {
                    "value".into()
                } else {
                    prefix.into()
                },
                value: scalar(other),
            }),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// One line saying what an entry records.
pub(crate) fn summary(e: &AuditEntry) -> String {
    let text = |v: Option<&Value>| v.map(scalar).unwrap_or_default();
    match e.kind.as_str() {
        "order" => {
            let r = get(&e.detail, &["request"]);
            let side = text(r.and_then(|r| r.get("side")));
            let qty = text(r.and_then(|r| r.get("qty")));
            let sym = e.symbol.clone().unwrap_or_default();
            let id = text(e.detail.get("client_order_id"));
            format!(
                "Order {id}: {side} {qty} {sym} — {}",
                e.outcome.replace('_', " ")
            )
            .replace("  ", " ")
        }
        "settings" => {
            let setting = text(e.detail.get("setting"));
            let to = e.detail.get("to").map(scalar);
            match to {
                Some(to) => format!("Setting {} set to {to}", setting.replace('_', " ")),
                None => format!("Setting {} changed", setting.replace('_', " ")),
            }
        }
        "onboarding" => format!(
            "Onboarding: {}",
            text(e.detail.get("step")).replace('_', " ")
        ),
        "tool_call" => {
            let tool = e.tool.clone().unwrap_or_default();
            let on = e
                .symbol
                .as_ref()
                .map(|s| format!(" on {s}"))
                .unwrap_or_default();
            // A tool that acted says what happened (an order "filled", "rejected by person");
            // "ok" alone only means the call answered.
            let result = e
                .detail
                .get("result")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty() && e.outcome == "ok");
            match result {
                Some(r) => format!("Claude called {tool}{on}: {}", r.replace('_', " ")),
                None => format!("Claude called {tool}{on}: {}", e.outcome),
            }
        }
        kind => {
            let on = e
                .symbol
                .as_ref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            format!(
                "{}{on}: {}",
                kind.replace('_', " "),
                e.outcome.replace('_', " ")
            )
        }
    }
}

fn row(e: &AuditEntry) -> AuditRow {
    AuditRow {
        seq: e.seq,
        time: e.ts.to_rfc3339(),
        actor: e.actor.clone(),
        kind: e.kind.clone(),
        tool: e.tool.clone(),
        symbol: e.symbol.clone(),
        outcome: e.outcome.clone(),
        summary: summary(e),
        arguments: fields(&e.args),
        details: fields(&e.detail),
    }
}

fn date(field: &str, text: &str) -> Result<Option<NaiveDate>, DesktopError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| DesktopError::invalid(field, format!("'{t}' is not a date (YYYY-MM-DD)")))
}

/// Whether a row holds every word of `search` (case-insensitive) anywhere in what it shows.
fn matches_words(row: &AuditRow, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let mut hay = format!(
        "{} {} {} {} {} {} {}",
        row.seq,
        row.actor,
        row.kind,
        row.tool.as_deref().unwrap_or(""),
        row.symbol.as_deref().unwrap_or(""),
        row.outcome,
        row.summary
    );
    for f in row.arguments.iter().chain(&row.details) {
        hay.push(' ');
        hay.push_str(&f.name);
        hay.push(' ');
        hay.push_str(&f.value);
    }
    let hay = hay.to_lowercase();
    words.iter().all(|w| hay.contains(w))
}

/// A CSV field: quoted when it holds a comma, quote or line break; formula-leading characters
/// are neutralised so a spreadsheet never runs them.
pub fn csv_escape(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl Desktop {
    async fn audit_rows(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, DesktopError> {
        let from = date("from", &q.from)?;
        let to = date("to", &q.to)?;
        let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let entries = self
            .store
            .audit_entries(&AuditFilter {
                kind: nonempty(&q.kind),
                tool: None,
                symbol: nonempty(&q.symbol).map(|s| s.to_uppercase()),
                limit: Some(SCAN),
            })
            .await?;
        let words: Vec<String> = q.search.split_whitespace().map(str::to_lowercase).collect();
        Ok(entries
            .iter()
            .filter(|e| {
                let d = e.ts.date_naive();
                from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
            })
            .map(row)
            .filter(|r| matches_words(r, &words))
            .collect())
    }

    /// Entries matching `q`, newest first.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<AuditPage, DesktopError> {
        let mut rows = self.audit_rows(q).await?;
        let matching = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let limit = if q.limit == 0 { DEFAULT_ROWS } else { q.limit };
        rows.truncate(limit as usize);
        Ok(AuditPage {
            rows,
            matching,
            kinds: self.store.audit_kinds().await?,
        })
    }

    /// Checks the whole hash chain.
    pub async fn verify_audit(&self) -> Result<ChainCheck, DesktopError> {
        let report = self.store.verify_audit().await?;
        let message = match &report.first_broken {
            None => format!(
                "Intact: all {} entries are unchanged and in order.",
                report.entries
            ),
            Some(b) => format!(
                "Broken at entry {}: {}. Entries from there on cannot be trusted.",
                b.seq, b.reason
            ),
        };
        Ok(ChainCheck {
            intact: report.intact(),
            entries: report.entries,
            first_broken: report.first_broken.map(|b| b.seq),
            message,
        })
    }

    /// Writes the entries matching `q` (all of them, oldest first) as CSV into `dir`.
    pub async fn export_audit_csv(
        &self,
        q: &AuditQuery,
        dir: &Path,
    ) -> Result<Exported, DesktopError> {
        let mut rows = self.audit_rows(q).await?;
        rows.reverse();
        let mut out =
            String::from("seq,time,actor,kind,tool,symbol,outcome,summary,arguments,details\n");
        let join = |fs: &[Field]| {
            fs.iter()
                .map(|f| format!("{}={}", f.name, f.value))
                .collect::<Vec<_>>()
                .join("; ")
        };
        for r in &rows {
            let cells = [
                r.seq.to_string(),
                r.time.clone(),
                r.actor.clone(),
                r.kind.clone(),
                r.tool.clone().unwrap_or_default(),
                r.symbol.clone().unwrap_or_default(),
                r.outcome.clone(),
                r.summary.clone(),
                join(&r.arguments),
                join(&r.details),
            ];
            out.push_str(
                &cells
                    .iter()
                    .map(|c| csv_escape(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        let name = format!(
            "quantdesk-audit-{}.csv",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        );
        let path = dir.join(name);
        let io = |source| DesktopError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::write(&path, out).map_err(io)?;
        Ok(Exported {
            path: path.display().to_string(),
            rows: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_json_becomes_readable_fields() {
        let f = fields(
            &json!({"request": {"symbol": "GOOG", "qty": "10"}, "tags": ["a", "b"], "none": null}),
        );
        let pairs: Vec<_> = f
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("request.qty", "10"),
                ("request.symbol", "GOOG"),
                ("tags", "a, b")
            ]
        );
    }

    fn tool_call(outcome: &str, detail: Value) -> AuditEntry {
        AuditEntry {
            seq: 1,
            ts: chrono::Utc::now(),
            actor: "claude".into(),
            kind: "tool_call".into(),
            tool: Some("place_order".into()),
            symbol: Some("GOOG".into()),
            args: json!({}),
            outcome: outcome.into(),
            detail,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn a_tool_call_that_acted_says_what_happened() {
        let rejected = tool_call("ok", json!({"result": "rejected_by_person", "ms": 3}));
        assert_eq!(
            summary(&rejected),
            "Claude called place_order on GOOG: rejected by person"
        );
        let filled = tool_call("ok", json!({"result": "filled"}));
        assert_eq!(
            summary(&filled),
            "Claude called place_order on GOOG: filled"
        );
        // Reads and errors keep the call's own outcome.
        let read = tool_call("ok", json!({"result": null, "source": "bundled"}));
        assert_eq!(summary(&read), "Claude called place_order on GOOG: ok");
        let failed = tool_call("error", json!({"error": "no such symbol"}));
        assert_eq!(summary(&failed), "Claude called place_order on GOOG: error");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_escape("a,b"), "\"a,b\"");
        assert_eq!(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_escape("=cmd()"), "'=cmd()");
        assert_eq!(csv_escape("-12.5"), "-12.5");
    }
}
