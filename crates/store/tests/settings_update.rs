//! `update_setting` from two processes' worth of handles at once: every read-modify-write lands
//! (none overwrites another's), and a refused change writes nothing.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use quantdesk_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_from_two_handles_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Two pools on one file, as the app and a sidecar have.
    let a = Store::open_in(dir.path()).await.unwrap();
    let b = Store::open_in(dir.path()).await.unwrap();
    let mut tasks = Vec::new();
    for (who, store) in [("a", a.clone()), ("b", b.clone())] {
        for i in 0..25 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .update_setting("test.list", |list: &mut Vec<String>| {
                        list.push(format!("{who}{i}"));
                        Ok::<_, String>(())
                    })
                    .await
                    .unwrap()
                    .unwrap();
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let list: Vec<String> = a.setting("test.list").await.unwrap().unwrap();
    assert_eq!(list.len(), 50, "{list:?}");
    // A refused change leaves the value as it was.
    let refused = b
        .update_setting("test.list", |list: &mut Vec<String>| {
            list.clear();
            Err::<(), _>("full")
        })
        .await
        .unwrap();
    assert_eq!(refused, Err("full"));
    let again: Vec<String> = b.setting("test.list").await.unwrap().unwrap();
    assert_eq!(again.len(), 50);
}
