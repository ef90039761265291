//! Home, approvals (the click, expiry, the channel to a waiting sidecar, a restart), the kill
//! switch and updates held while an order waits.

use super::*;

#[tokio::test]
async fn home_shows_the_account_positions_room_left_and_a_pending_approval() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app).await;
    let placed = sidecar
        .place(&OrderRequest::market(goog(), Side::Buy, dec!(10)), None)
        .await
        .unwrap();
    assert_eq!(placed.outcome, "filled", "{placed:?}");
    always_ask(&app).await;
    let pending = sidecar
        .place(
            &OrderRequest::market(goog(), Side::Buy, dec!(2)),
            Some("ask-1"),
        )
        .await
        .unwrap();
    assert_eq!(pending.outcome, "pending_approval");

    let home = app.home().await.unwrap();
    assert_eq!(
        (home.broker.as_str(), home.mode.as_str()),
        ("paper", "paper")
    );
    let account = home.account.expect("account");
    assert!(account.cash.parse::<f64>().unwrap() < 100_000.0);
    assert_eq!(home.positions.len(), 1);
    assert_eq!(home.positions[0].qty, "10");
    assert_eq!(home.daily_loss.limit.as_deref(), Some("2000"));
    assert!(home.daily_loss.room_left.is_some());
    assert_eq!(home.pending_approvals.len(), 1);
    let ask = &home.pending_approvals[0];
    assert_eq!(ask.client_order_id, "ask-1");
    assert_eq!(ask.position.as_ref().map(|p| p.qty.as_str()), Some("10"));
    assert!(
        ask.checks
            .iter()
            .any(|c| c.name == "Max order value" && c.within)
    );
    assert!(!home.kill_switch && !home.live_trading);
}

/// An approval that ran out is no longer waiting, even while nothing has marked it expired yet:
/// the approval window may close, and the tray stops counting it.

#[tokio::test]
async fn an_approval_that_ran_out_no_longer_waits() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app)
        .await
        .with_approval_ttl(chrono::Duration::milliseconds(300));
    place_waiting(&app, &sidecar, "late-1").await;
    assert_eq!(app.pending_approval_ids().await.unwrap(), vec!["late-1"]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        sidecar.order("late-1").await.unwrap().status,
        OrderStatus::PendingApproval,
        "still unmarked in the journal"
    );
    assert!(app.pending_approval_ids().await.unwrap().is_empty());
    assert!(app.pending_approvals().await.unwrap().is_empty());
    assert_eq!(app.shell_status().await.unwrap().pending_approvals, 0);
}

#[tokio::test]
async fn approve_sends_the_order_and_reject_means_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app).await;
    for id in ["yes-1", "no-1"] {
        place_waiting(&app, &sidecar, id).await;
    }
    assert_eq!(
        app.pending_approval_ids().await.unwrap(),
        vec!["yes-1", "no-1"]
    );

    let yes = app.approve("yes-1").await.unwrap();
    assert_eq!(yes.outcome, "filled", "{yes:?}");
    assert!(
        yes.message
            .starts_with("Approved and filled: bought 1 GOOG at $"),
        "{yes:?}"
    );
    assert_eq!(
        sidecar.order("yes-1").await.unwrap().status,
        OrderStatus::Filled
    );
    let no = app.reject("no-1").await.unwrap();
    assert_eq!(no.outcome, "rejected");
    assert!(no.message.contains("not sent"));
    assert_eq!(
        sidecar.order("no-1").await.unwrap().status,
        OrderStatus::RejectedByPerson
    );
    // A second click changes nothing.
    assert_eq!(app.reject("no-1").await.unwrap().outcome, "unchanged");
    assert!(app.pending_approvals().await.unwrap().is_empty());

    let fills = app
        .audit_page(&AuditQuery {
            kind: "order".into(),
            symbol: "goog".into(),
            search: "yes-1 filled".into(),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(fills.matching >= 1, "{fills:?}");
    assert!(fills.kinds.contains(&"order".to_string()));
    assert!(app.verify_audit().await.unwrap().intact);
}

#[tokio::test]
async fn the_kill_switch_cancels_pending_orders() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app).await;
    place_waiting(&app, &sidecar, "k-1").await;
    let s = app.set_kill_switch(true).await.unwrap();
    assert!(s.kill_switch);
    assert_eq!(
        sidecar.order("k-1").await.unwrap().status,
        OrderStatus::Canceled
    );
    let refused = sidecar
        .place(
            &OrderRequest::market(goog(), Side::Buy, dec!(1)),
            Some("k-2"),
        )
        .await
        .unwrap();
    assert_eq!(refused.outcome, "refused", "{refused:?}");
}

#[tokio::test]
async fn a_sidecar_waiting_on_the_channel_receives_the_click_and_applies_it() {
    use quantdesk_ipc::{ApprovalRequest, Message};
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app).await;
    place_waiting(&app, &sidecar, "ch-1").await;
    let announced = Arc::new(tokio::sync::Notify::new());
    let server = {
        let (app, announced) = (app.clone(), announced.clone());
        tokio::spawn(async move { app.serve_sidecars(announced).await })
    };
    let data = dir.path().join("data");
    let mut conn = loop {
        match quantdesk_ipc::connect_to_app(&data).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    conn.send(&Message::ApprovalRequested(Box::new(ApprovalRequest {
        client_order_id: "ch-1".into(),
        broker: "paper".into(),
        mode: "paper".into(),
        symbol: "GOOG".into(),
        side: "buy".into(),
        order_type: "market".into(),
        qty: Some("1".into()),
        notional: None,
        limit_price: None,
        stop_price: None,
        value: "600".into(),
        expires_at: None,
    })))
    .await
    .unwrap();
    announced.notified().await;
    let waiting_sidecar = tokio::spawn(async move {
        let Some(Message::Decision {
            client_order_id,
            approve,
            signature,
            ..
        }) = conn.recv().await.unwrap()
        else {
            panic!("expected a decision");
        };
        assert!(approve);
        assert!(signature.is_some(), "the app signs the decision it sends");
        let placed = sidecar
            .approve(&client_order_id, "test", signature.as_deref())
            .await
            .unwrap();
        conn.send(&Message::DecisionApplied {
            client_order_id,
            status: placed.outcome.to_string(),
            message: placed.message,
        })
        .await
        .unwrap();
    });
    let d = app.approve("ch-1").await.unwrap();
    assert_eq!(d.outcome, "filled", "{d:?}");
    waiting_sidecar.await.unwrap();
    server.abort();
}

#[tokio::test]
async fn a_pending_request_survives_an_app_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    let sidecar = sidecar_desk(&app).await;
    place_waiting(&app, &sidecar, "keep-1").await;
    app.store().close().await;
    drop(app);

    let app = desktop(dir.path()).await;
    let pending = app.pending_approvals().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].client_order_id, "keep-1");
    assert_eq!(app.approve("keep-1").await.unwrap().outcome, "filled");
}

#[tokio::test]
async fn an_update_waits_while_an_order_waits_for_approval() {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path()).await;
    app.update_allowed()
        .await
        .expect("nothing pending: updating is allowed");

    place_waiting(&app, &sidecar_desk(&app).await, "ask-update").await;
    let err = app.update_allowed().await.unwrap_err();
    assert!(matches!(err, DesktopError::Refused(_)), "{err:?}");
    assert!(
        err.to_string().contains("waiting for your approval"),
        "{err}"
    );

    app.reject("ask-update").await.unwrap();
    app.update_allowed()
        .await
        .expect("decided: updating is allowed again");
}
