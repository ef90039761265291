//! Canned responses and how a request finds one.

use axum::http::Method;

use crate::{Incoming, Reply};

/// A canned response: method, path (optionally with one `{symbol}` segment), required query
/// parameters, status and body. Loaded from `fixtures/routes.json` or added by a test with
/// [`StandInBuilder::route`](crate::StandInBuilder::route).
///
/// In a `{symbol}` route the captured symbol is checked the way Alpaca checks tickers (a
/// malformed one gets Alpaca's 400 `invalid symbol`), and `{symbol}` in the body is replaced by
/// it, so one route can answer for every symbol without a fixture of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub(crate) method: String,
    pub(crate) path: String,
    /// `Some(v)`: the parameter must be sent with value `v`; `None`: it must not be sent.
    pub(crate) query: Vec<(String, Option<String>)>,
    pub(crate) status: u16,
    pub(crate) body: String,
    /// Added by a test rather than shipped: checked first.
    pub(crate) custom: bool,
}

impl Route {
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            status: 200,
            body: "{}".to_string(),
            custom: true,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// Matches only requests sending `name=value`.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), Some(value.into())));
        self
    }

    /// Matches only requests that do not send `name`.
    pub fn without_query(mut self, name: impl Into<String>) -> Self {
        self.query.push((name.into(), None));
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = body.to_string();
        self
    }

    /// A raw body, e.g. to test what a client does with something that is not JSON.
    pub fn body(mut self, raw: impl Into<String>) -> Self {
        self.body = raw.into();
        self
    }

    pub(crate) fn is_pattern(&self) -> bool {
        self.path.contains("{symbol}")
    }

    /// More specific first: a test's own routes, then routes with more query conditions.
    pub(crate) fn precedence(&self) -> (bool, usize) {
        (!self.custom, usize::MAX - self.query.len())
    }

    /// The reply if this route answers `request`.
    pub(crate) fn answer(&self, request: &Incoming) -> Option<Reply> {
        let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes()).ok()?;
        if method != request.method {
            return None;
        }
        let captured = match_path(&self.path, &request.path)?;
        let query_ok = self.query.iter().all(|(name, want)| match want {
            Some(value) => request.query(name) == Some(value.as_str()),
            None => request.query(name).is_none(),
        });
        if !query_ok {
            return None;
        }
        match captured {
            None => Some(Reply {
                status: self.status,
                body: self.body.clone(),
            }),
            Some(symbol) if !valid_symbol(&symbol) => Some(invalid_symbol(&symbol)),
            Some(symbol) => Some(Reply {
                status: self.status,
                body: self.body.replace("{symbol}", &json_escape(&symbol)),
            }),
        }
    }
}

/// `None`: no match; `Some(None)`: an exact match; `Some(Some(s))`: matched, `{symbol}` = `s`.
fn match_path(pattern: &str, path: &str) -> Option<Option<String>> {
    let pat: Vec<&str> = pattern.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    if pat.len() != got.len() {
        return None;
    }
    let mut captured = None;
    for (p, g) in pat.iter().zip(&got) {
        if *p == "{symbol}" {
            captured = Some(percent_decode(g));
        } else if p != g {
            return None;
        }
    }
    Some(captured)
}

/// Alpaca's answer to a malformed ticker.
pub(crate) fn invalid_symbol(symbol: &str) -> Reply {
    Reply::error(400, 40010001, &format!("invalid symbol: {symbol}"))
}

/// Tickers as Alpaca writes them: upper-case letters, digits and `.` (`BRK.B`); crypto pairs
/// add one `/` (`BTC/USD`).
pub(crate) fn valid_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= 21
        && symbol.matches('/').count() <= 1
        && symbol
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '/')
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    fn get(path: &str, query: &[(&str, &str)]) -> Incoming {
        Incoming {
            method: Method::GET,
            path: path.to_string(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn query_conditions_require_presence_or_absence() {
        let first = Route::get("/x").without_query("page_token").body("1");
        let second = Route::get("/x").query("page_token", "abc").body("2");
        assert_eq!(first.answer(&get("/x", &[])).unwrap().body, "1");
        assert!(first.answer(&get("/x", &[("page_token", "abc")])).is_none());
        assert_eq!(
            second
                .answer(&get("/x", &[("page_token", "abc")]))
                .unwrap()
                .body,
            "2"
        );
        assert!(Route::new("POST", "/x").answer(&get("/x", &[])).is_none());
    }

    #[test]
    fn symbol_routes_check_and_substitute_the_symbol() {
        let route = Route::get("/v2/stocks/{symbol}/snapshot")
            .status(404)
            .body(r#"{"message":"no snapshot found for {symbol}"}"#);
        let reply = route.answer(&get("/v2/stocks/ZZZZ/snapshot", &[])).unwrap();
        assert_eq!(reply.status, 404);
        assert_eq!(reply.body, r#"{"message":"no snapshot found for ZZZZ"}"#);
        let reply = route
            .answer(&get("/v2/stocks/%5EGSPC/snapshot", &[]))
            .unwrap();
        assert_eq!(reply.status, 400);
        assert!(
            reply.body.contains("invalid symbol: ^GSPC"),
            "{}",
            reply.body
        );
        assert!(route.answer(&get("/v2/stocks/ZZZZ/bars", &[])).is_none());
    }
}
