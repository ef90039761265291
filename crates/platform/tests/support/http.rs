//! A tiny HTTP/1 client over hyper that keeps cookies (name → value, `Max-Age=0` deletes) and
//! adds the CSRF cookie's value to every form it posts, as the site's own forms do.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub struct Client {
    base: String,
    pub cookies: BTreeMap<String, String>,
    hyper: Hyper<HttpConnector, Full<Bytes>>,
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            cookies: BTreeMap::new(),
            hyper: Hyper::builder(TokioExecutor::new()).build_http(),
            headers: Vec::new(),
        }
    }

    pub fn csrf(&self) -> String {
        self.cookies.get("qd_csrf").cloned().unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(self.url(path));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let resp = self.hyper.request(req).await.expect("the platform answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for cookie in headers.get_all("set-cookie") {
            let text = cookie.to_str().unwrap_or_default();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            if let Some((k, v)) = pair.split_once('=') {
                if attrs.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None, Vec::new()).await
    }

    /// Posts a form with this client's CSRF token added (unless `fields` has one).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            all.push(("csrf".into(), self.csrf()));
        }
        let body = serde_urlencoded::to_string(&all).expect("form");
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    /// Posts form fields without any CSRF token (the API takes none).
    pub async fn post_raw_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
pub fn encode_path(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
