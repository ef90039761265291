//! A sidecar and an app, each a task on its own socket end: the request goes out, the decision
//! comes back, and a peer speaking another version is refused.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::time::Duration;

use quantdesk_ipc::{
    AppListener, ApprovalRequest, IpcError, Message, Role, app_socket_path, connect_to_app,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn request() -> ApprovalRequest {
    ApprovalRequest {
        client_order_id: "o-1".into(),
        broker: "paper".into(),
        mode: "paper".into(),
        symbol: "GOOG".into(),
        side: "buy".into(),
        order_type: "market".into(),
        qty: Some("10".into()),
        notional: None,
        limit_price: None,
        stop_price: None,
        value: "6170.5".into(),
        expires_at: None,
    }
}

#[tokio::test]
async fn a_request_goes_out_and_the_decision_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let app = AppListener::bind(dir.path()).await.unwrap();
    let app_task = tokio::spawn(async move {
        let mut conn = app.accept().await.unwrap();
        assert_eq!(conn.peer, Role::Sidecar);
        let Some(Message::ApprovalRequested(req)) = conn.recv().await.unwrap() else {
            panic!("no request")
        };
        conn.send(&Message::Decision {
            client_order_id: req.client_order_id.clone(),
            approve: true,
            by: "person".into(),
            signature: Some("c2lnbmVk".into()),
        })
        .await
        .unwrap();
        conn.recv().await.unwrap()
    });
    let mut side = connect_to_app(dir.path()).await.unwrap();
    assert_eq!(side.peer, Role::App);
    side.send(&Message::ApprovalRequested(Box::new(request())))
        .await
        .unwrap();
    let decision = side.recv_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        decision,
        Some(Message::Decision {
            client_order_id: "o-1".into(),
            approve: true,
            by: "person".into(),
            signature: Some("c2lnbmVk".into()),
        })
    );
    side.send(&Message::DecisionApplied {
        client_order_id: "o-1".into(),
        status: "filled".into(),
        message: "filled".into(),
    })
    .await
    .unwrap();
    assert!(matches!(
        app_task.await.unwrap(),
        Some(Message::DecisionApplied { .. })
    ));
}

#[tokio::test]
async fn no_app_means_not_running() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        connect_to_app(dir.path()).await,
        Err(IpcError::NotRunning { .. })
    ));
}

#[tokio::test]
async fn another_protocol_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = app_socket_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        let _hello = lines.next_line().await.unwrap();
        w.write_all(b"{\"v\":2,\"type\":\"hello\",\"version\":2,\"role\":\"app\",\"pid\":1}\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    assert!(matches!(
        connect_to_app(dir.path()).await,
        Err(IpcError::Version { theirs: 2 })
    ));
}
