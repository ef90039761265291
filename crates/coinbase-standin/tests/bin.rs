//! The stand-in binary the Python tests run: it prints its URL, answers Coinbase's REST and stops
//! when its stdin closes. (Its being an integration test is also what makes `cargo test` build
//! the binary for the Python tests.)
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One plain HTTP/1.1 GET; the whole answer, head and body.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    answer
}

#[test]
fn the_binary_prints_its_url_serves_products_and_stops_with_its_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quantdesk-coinbase-standin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the stand-in");
    let mut url = String::new();
    let mut ws = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut url).expect("its URL");
    out.read_line(&mut ws).expect("its websocket URL");
    assert!(ws.starts_with("ws://127.0.0.1:"), "{ws}");
    let addr = url
        .trim()
        .strip_prefix("http://")
        .expect("an http URL")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let answer = get(&addr, "/products");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"id\":\"BTC-USD\""), "{answer}");

    let answer = get(&addr, "/_standin/feed");
    assert!(answer.contains("\"accepted\":0"), "{answer}");

    drop(child.stdin.take());
    let status = child.wait().expect("it stops");
    assert!(status.success(), "{status}");
}
