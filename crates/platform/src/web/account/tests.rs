use super::*;

#[test]
fn the_wait_doubles_after_five_failures() {
    let at = |count| Failures {
        count,
        last_at: 1000,
    };
    assert_eq!(wait_secs(at(4), 1000), None);
    assert_eq!(wait_secs(at(5), 1000), Some(2));
    assert_eq!(wait_secs(at(6), 1000), Some(4));
    assert_eq!(wait_secs(at(7), 1003), Some(5));
    assert_eq!(wait_secs(at(5), 1002), None);
    assert_eq!(wait_secs(at(40), 1000), Some(3600));
}
