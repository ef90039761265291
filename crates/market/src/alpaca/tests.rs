use super::chain::{Occ, strikes_around};
use super::client::{DataGet, api_message};
use super::{AlpacaConfig, AlpacaConfigError, AlpacaFeed, AlpacaProvider};
use chrono::NaiveDate;
use http::StatusCode;
use http_endpoint::Endpoint;
use quantdesk_domain::OptionKind;
use rust_decimal_macros::dec;

#[test]
fn occ_symbols_parse() {
    let occ = Occ::parse("GOOG130322C00802500").unwrap();
    assert_eq!(occ.root, "GOOG");
    assert_eq!(
        occ.expiration,
        NaiveDate::from_ymd_opt(2013, 3, 22).unwrap()
    );
    assert_eq!(occ.kind, OptionKind::Call);
    assert_eq!(occ.strike, dec!(802.5));
    assert_eq!(Occ::parse("SPY250117P00450000").unwrap().strike, dec!(450));
    assert_eq!(Occ::parse("GOOG1130322C00800000").unwrap().root, "GOOG1");
    for bad in [
        "",
        "GOOG",
        "GOOG130322X00800000",
        "GOOG131322C00800000",
        "GOOG130322C0080000+",
    ] {
        assert!(Occ::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn strikes_around_takes_each_side_of_the_price() {
    let strikes = [
        dec!(770),
        dec!(780),
        dec!(790),
        dec!(800),
        dec!(810),
        dec!(820),
    ];
    assert_eq!(
        strikes_around(&strikes, dec!(806.19), 2),
        &[dec!(790), dec!(800), dec!(810), dec!(820)]
    );
    assert_eq!(
        strikes_around(&strikes, dec!(800), 1),
        &[dec!(800), dec!(810)]
    );
    assert_eq!(
        strikes_around(&strikes, dec!(10), 2),
        &[dec!(770), dec!(780)]
    );
    assert_eq!(strikes_around(&strikes, dec!(900), 1), &[dec!(820)]);
    assert!(strikes_around(&strikes, dec!(800), 0).is_empty());
}

#[test]
fn config_debug_never_shows_the_secret() {
    let config = AlpacaConfig::new("PKID", "very-secret");
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("very-secret") && shown.contains("PKID"),
        "{shown}"
    );
    let provider = AlpacaProvider::new(config).unwrap();
    let shown = format!("{provider:?}");
    assert!(
        !shown.contains("very-secret") && !shown.contains("PKID"),
        "{shown}"
    );
}

#[test]
fn config_is_checked_up_front() {
    let mut config = AlpacaConfig::new("PKID", " ");
    assert_eq!(
        AlpacaProvider::new(config.clone()).unwrap_err(),
        AlpacaConfigError::MissingKey
    );
    config.secret = "s".into();
    config.data_url = "http://data.example.com".into();
    assert!(matches!(
        AlpacaProvider::new(config.clone()).unwrap_err(),
        AlpacaConfigError::InvalidUrl { .. }
    ));
    config.data_url = "not a url".into();
    assert!(AlpacaProvider::new(config.clone()).is_err());
    config.data_url = "http://127.0.0.1:9".into();
    assert!(AlpacaProvider::new(config).is_ok());
    assert_eq!("SIP".parse::<AlpacaFeed>().unwrap(), AlpacaFeed::Sip);
    assert!("opra".parse::<AlpacaFeed>().is_err());
}

#[test]
fn error_bodies_yield_alpacas_message() {
    let body = br#"{"code":40010001,"message":"invalid symbol: X!"}"#;
    let parsed = <DataGet<serde_json::Value> as Endpoint>::parse_err(body);
    assert_eq!(
        api_message(StatusCode::BAD_REQUEST, parsed),
        "invalid symbol: X!"
    );
    assert_eq!(
        api_message(StatusCode::BAD_GATEWAY, Err(b"<html>".to_vec())),
        "<html>"
    );
    assert_eq!(
        api_message(StatusCode::BAD_GATEWAY, Err(Vec::new())),
        "Bad Gateway"
    );
}
