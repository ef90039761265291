//! An SMTP catcher on 127.0.0.1: enough of RFC 5321 for `lettre` (EHLO, MAIL, RCPT, DATA, QUIT,
//! RSET, NOOP), keeping each message; quoted-printable bodies are decoded for the tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Message {
    pub to: Vec<String>,
    pub data: String,
}

pub struct Catcher {
    port: u16,
    pub messages: Arc<Mutex<Vec<Message>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Catcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn decode_qp(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Catcher {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 catcher ESMTP\r\n").await;
                    let mut to = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-catcher\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            let addr = line[8..].trim().trim_matches(['<', '>']).to_string();
                            to.push(addr);
                            b"250 OK\r\n"
                        } else if upper.starts_with("DATA") {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" || line == ".\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            if let Ok(mut m) = store.lock() {
                                m.push(Message {
                                    to: std::mem::take(&mut to),
                                    data: decode_qp(&data),
                                });
                            }
                            b"250 OK queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            port,
            messages,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits (up to 10 s) for a mail to `to` holding `needle`, and returns the URL in it that
    /// contains `needle`.
    pub async fn link_to(&self, to: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Ok(messages) = self.messages.lock() {
                for m in messages.iter().rev() {
                    if m.to.iter().any(|t| t == to)
                        && let Some(word) = m
                            .data
                            .split_whitespace()
                            .find(|w| w.contains(needle) && w.starts_with("http"))
                    {
                        return word.to_string();
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with {needle}");
    }

    pub fn count_to(&self, to: &str) -> usize {
        self.messages
            .lock()
            .map(|m| m.iter().filter(|m| m.to.iter().any(|t| t == to)).count())
            .unwrap_or(0)
    }
}
