//! Where a revocation list comes from: a file, or an `http(s)://` URL the platform publishes.
//! The text is only fetched here; [`crate::Verifier::verify_revocations`] decides whether it is
//! genuine.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};

use crate::KeyError;

/// Environment variable naming the revocation list's file or URL.
pub const REVOCATIONS_ENV: &str = "QUANTDESK_REVOCATIONS";

/// A list larger than this is not a revocation list.
const MAX_BYTES: usize = 4 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A file path or an `http://` / `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationSource {
    File(PathBuf),
    Url(String),
}

impl RevocationSource {
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            RevocationSource::Url(text.to_string())
        } else {
            RevocationSource::File(PathBuf::from(text.strip_prefix("file://").unwrap_or(text)))
        }
    }

    /// The source `QUANTDESK_REVOCATIONS` names, if any.
    pub fn from_env() -> Option<Self> {
        std::env::var(REVOCATIONS_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Self::parse(&v))
    }

    pub fn name(&self) -> String {
        match self {
            RevocationSource::File(path) => path.display().to_string(),
            RevocationSource::Url(url) => url.clone(),
        }
    }

    /// Reads the list's text (not yet verified).
    pub async fn fetch(&self) -> Result<String, KeyError> {
        let unavailable = |reason: String| KeyError::RevocationsUnavailable {
            source_name: self.name(),
            reason,
        };
        match self {
            RevocationSource::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| unavailable(e.to_string()))?;
                if bytes.len() > MAX_BYTES {
                    return Err(unavailable("the file is too large".into()));
                }
                String::from_utf8(bytes).map_err(|_| unavailable("the file is not text".into()))
            }
            RevocationSource::Url(url) => tokio::time::timeout(FETCH_TIMEOUT, get(url))
                .await
                .map_err(|_| unavailable(format!("no answer within {FETCH_TIMEOUT:?}")))?
                .map_err(unavailable),
        }
    }
}

async fn get(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let connector = hyper_tls::HttpsConnector::new();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(connector);
    let response = client.get(uri).await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let body = Limited::new(response.into_body(), MAX_BYTES)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| "the answer is not text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[test]
    fn sources_parse() {
        assert_eq!(
            RevocationSource::parse("https://quantdesk.app/revoked"),
            RevocationSource::Url("https://quantdesk.app/revoked".into())
        );
        assert_eq!(
            RevocationSource::parse("file:///tmp/r.txt"),
            RevocationSource::File("/tmp/r.txt".into())
        );
        assert_eq!(
            RevocationSource::parse(" /tmp/r.txt "),
            RevocationSource::File("/tmp/r.txt".into())
        );
    }

    #[tokio::test]
    async fn a_missing_file_says_where_it_looked() {
        let err = RevocationSource::parse("/nonexistent/revoked.txt")
            .fetch()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/revoked.txt"),
            "{err}"
        );
    }

    /// A one-shot HTTP server on 127.0.0.1 answers with the list's text.
    #[tokio::test]
    async fn a_list_is_fetched_over_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for answer in [
                "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nqdr_abc.def",
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            ] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2048];
                let _ = socket.read(&mut buf).await.unwrap();
                socket.write_all(answer.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
        });
        let source = RevocationSource::parse(&format!("http://{addr}/revoked"));
        assert_eq!(source.fetch().await.unwrap(), "qdr_abc.def");
        let err = source.fetch().await.unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
        server.await.unwrap();
    }
}
