use super::*;

#[test]
fn crypto_pairs_name_their_product_and_nothing_else_does() {
    let id = |s: &str| product_id(&Symbol::parse(s).unwrap());
    assert_eq!(id("BTC/USD").as_deref(), Some("BTC-USD"));
    assert_eq!(id("eth-usd").as_deref(), Some("ETH-USD"));
    assert_eq!(id("SOLUSD").as_deref(), Some("SOL-USD"));
    assert_eq!(id("BTCUSDC").as_deref(), Some("BTC-USDC"));
    assert_eq!(id("ETH/BTC").as_deref(), Some("ETH-BTC"));
    for not in [
        "GOOG", "EUR/USD", "EURUSD", "BTC", "SPX", "USD", "BRK.B", "A/B/C",
    ] {
        assert_eq!(id(not), None, "{not}");
    }
}
