use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_767_225_600; // 2026-01-01 00:00 UTC

fn claims() -> Claims {
    Claims {
        key_id: "k_00112233445566778899".into(),
        account_id: "acct_42".into(),
        iat: NOW - 3600,
        exp: NOW + 30 * 86_400,
        scopes: Scopes::parse_list("market:read,analysis").unwrap(),
        rate: [("market:read".to_string(), "5/min".parse().unwrap())].into(),
    }
}

fn setup() -> (Issuer, Verifier, String) {
    let issuer = Issuer::generate().unwrap();
    let verifier = Verifier::new(issuer.public_key());
    let key = issuer.issue(&claims()).unwrap();
    (issuer, verifier, key)
}

#[test]
fn a_good_key_verifies_to_its_claims() {
    let (_issuer, verifier, key) = setup();
    assert!(key.starts_with("qdk_"));
    assert!(key.is_ascii() && !key.contains(char::is_whitespace));
    let got = verifier.verify(&format!("  {key}\n"), NOW).unwrap();
    assert_eq!(got, claims());
    assert_eq!(got.rate_limit("market:read").unwrap().to_string(), "5/min");
    assert_eq!(got.rate_limit("analysis"), None);
}

/// The four refusals the issue names, each its own variant and its own message.
#[test]
fn each_refusal_has_its_own_message() {
    let (issuer, verifier, key) = setup();

    let mut bytes = key.clone().into_bytes();
    bytes[40] ^= 0x04;
    let flipped = String::from_utf8(bytes).unwrap();
    let damaged = verifier.verify(&flipped, NOW).unwrap_err();

    let mut expired_claims = claims();
    expired_claims.exp = NOW - 1;
    let expired = verifier
        .verify(&issuer.issue(&expired_claims).unwrap(), NOW)
        .unwrap_err();

    let mut revoking = verifier.clone();
    revoking.honour(&RevocationList {
        iat: NOW,
        revoked: [claims().key_id].into(),
    });
    let revoked = revoking.verify(&key, NOW).unwrap_err();

    let other = Issuer::generate().unwrap();
    let foreign = verifier
        .verify(&other.issue(&claims()).unwrap(), NOW)
        .unwrap_err();

    assert_eq!(damaged, KeyError::Damaged);
    assert!(matches!(expired, KeyError::Expired { .. }), "{expired:?}");
    assert!(matches!(revoked, KeyError::Revoked { .. }), "{revoked:?}");
    assert_eq!(foreign, KeyError::UnknownSigner);
    let messages: BTreeSet<String> = [&damaged, &expired, &revoked, &foreign]
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(
        expired
            .to_string()
            .contains("expired on 2025-12-31 23:59 UTC"),
        "{expired}"
    );
    assert!(revoked.to_string().contains("k_00112233445566778899"));
    for message in &messages {
        assert!(!message.contains(&key[4..20]), "a message quotes the key");
    }
}

#[test]
fn other_refusals() {
    let (issuer, verifier, _key) = setup();
    assert_eq!(verifier.verify("sk-live-1234", NOW), Err(KeyError::NotAKey));
    assert_eq!(verifier.verify("qdk_nodot", NOW), Err(KeyError::Damaged));
    assert_eq!(verifier.verify("qdk_.", NOW), Err(KeyError::Damaged));
    let mut future = claims();
    future.iat = NOW + 3600;
    future.exp = NOW + 7200;
    assert!(matches!(
        verifier.verify(&issuer.issue(&future).unwrap(), NOW),
        Err(KeyError::NotYetValid { .. })
    ));
    // A key signed by the trusted pair but with the revocation context is not a key.
    let list = issuer.sign_revocations(&RevocationList::default()).unwrap();
    let disguised = list.replacen(REVOCATIONS_PREFIX, KEY_PREFIX, 1);
    assert_eq!(verifier.verify(&disguised, NOW), Err(KeyError::Damaged));
}

#[test]
fn issuing_checks_the_claims() {
    let issuer = Issuer::generate().unwrap();
    for change in [
        (|c: &mut Claims| c.exp = c.iat) as fn(&mut Claims),
        |c| c.scopes = Scopes::default(),
        |c| c.account_id = "has space".into(),
        |c| c.key_id = String::new(),
        |c| {
            c.rate.insert("stocks".into(), "1/s".parse().unwrap());
        },
    ] {
        let mut c = claims();
        change(&mut c);
        assert!(issuer.issue(&c).is_err(), "{c:?}");
    }
}

#[test]
fn signing_keys_round_trip_and_stay_out_of_debug() {
    let issuer = Issuer::generate().unwrap();
    let text = issuer.to_text();
    let again = Issuer::from_text(&text).unwrap();
    assert_eq!(again.public_key(), issuer.public_key());
    assert!(!format!("{issuer:?}").contains(&text[5..]));
    assert!(Issuer::from_text("qdsk_AAAA").is_err());
    let public = issuer.public_key_text();
    assert_eq!(parse_public_key(&public).unwrap(), issuer.public_key());
    let standard = STANDARD.encode(issuer.public_key().as_bytes());
    assert_eq!(parse_public_key(&standard).unwrap(), issuer.public_key());
    assert!(parse_public_key("AAAA").is_err());
}

#[test]
fn the_compiled_in_platform_key_is_valid() {
    Verifier::platform().unwrap();
}

#[test]
fn revocation_lists_verify_and_only_add() {
    let (issuer, mut verifier, _key) = setup();
    let text = issuer
        .sign_revocations(&RevocationList {
            iat: NOW,
            revoked: ["k_1".to_string(), "k_2".to_string()].into(),
        })
        .unwrap();
    let list = verifier.honour_text(&text).unwrap();
    assert_eq!(list.revoked.len(), 2);
    assert!(verifier.is_revoked("k_2") && !verifier.is_revoked("k_3"));
    verifier.honour(&RevocationList::default());
    assert!(
        verifier.is_revoked("k_1"),
        "an empty list does not unrevoke"
    );
    assert_eq!(verifier.revocations_issued_at(), Some(NOW));

    let other = Issuer::generate().unwrap();
    let foreign = other.sign_revocations(&RevocationList::default()).unwrap();
    assert_eq!(
        verifier.verify_revocations(&foreign),
        Err(KeyError::RevocationsUnknownSigner)
    );
    let mut bytes = text.into_bytes();
    bytes[50] ^= 0x02;
    let damaged = String::from_utf8(bytes).unwrap();
    assert_eq!(
        verifier.verify_revocations(&damaged),
        Err(KeyError::RevocationsDamaged)
    );
    assert_eq!(
        verifier.verify_revocations("qdk_abc.def"),
        Err(KeyError::NotARevocationList)
    );
}

/// Every single-bit flip of a key, exhaustively: refused as not-a-key (in the prefix) or
/// damaged (anywhere else) — never accepted, and never mistaken for expiry, revocation or
/// another signer.
#[test]
fn every_single_bit_flip_is_refused() {
    let (_issuer, verifier, key) = setup();
    for i in 0..key.len() {
        for bit in 0..8 {
            let mut bytes = key.clone().into_bytes();
            bytes[i] ^= 1 << bit;
            // Not even text: the keychain would not hand it over as a key.
            let Ok(flipped) = String::from_utf8(bytes) else {
                continue;
            };
            let err = verifier.verify(&flipped, NOW).unwrap_err();
            let expected = if i < KEY_PREFIX.len() {
                KeyError::NotAKey
            } else {
                KeyError::Damaged
            };
            assert_eq!(err, expected, "flip at {i} bit {bit}");
        }
    }
}

fn one_issuer() -> &'static Issuer {
    static ISSUER: std::sync::OnceLock<Issuer> = std::sync::OnceLock::new();
    ISSUER.get_or_init(|| Issuer::generate().unwrap())
}

fn any_claims() -> impl Strategy<Value = Claims> {
    (
        "[a-z0-9_]{1,40}",
        proptest::sample::subsequence(Scope::ALL.to_vec(), 1..=Scope::ALL.len()),
        1i64..(20 * 365 * 86_400),
        proptest::option::of((
            1u32..10_000,
            prop_oneof![Just(1u32), Just(60), Just(3600), Just(86_400)],
        )),
    )
        .prop_map(|(account, scopes, valid_for, rate)| Claims {
            key_id: new_key_id().unwrap(),
            account_id: account,
            iat: NOW - 60,
            exp: NOW + valid_for,
            scopes: Scopes::new(scopes),
            rate: rate
                .map(|(calls, per_secs)| ("*".to_string(), RateLimit { calls, per_secs }))
                .into_iter()
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// For any claims: the key verifies to exactly those claims, and any one flipped bit
    /// anywhere is refused as not-a-key or damaged.
    #[test]
    fn any_key_round_trips_and_any_flip_is_refused(
        claims in any_claims(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let issuer = one_issuer();
        let verifier = Verifier::new(issuer.public_key());
        let key = issuer.issue(&claims).unwrap();
        prop_assert_eq!(verifier.verify(&key, NOW), Ok(claims));
        let mut bytes = key.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(flipped) = String::from_utf8(bytes) {
            let err = verifier.verify(&flipped, NOW).unwrap_err();
            prop_assert!(
                matches!(err, KeyError::Damaged | KeyError::NotAKey),
                "flip at {} bit {}: {:?}", i, bit, err
            );
        }
    }

    /// A key signed by any other key pair is refused as such, whatever it claims.
    #[test]
    fn any_other_signer_is_refused(claims in any_claims()) {
        let other = Issuer::generate().unwrap();
        let verifier = Verifier::new(one_issuer().public_key());
        prop_assert_eq!(
            verifier.verify(&other.issue(&claims).unwrap(), NOW),
            Err(KeyError::UnknownSigner)
        );
    }

    /// Every byte of the key matters: truncating it anywhere is refused too.
    #[test]
    fn a_truncated_key_is_refused(claims in any_claims(), cut in 0usize..400) {
        let issuer = one_issuer();
        let verifier = Verifier::new(issuer.public_key());
        let key = issuer.issue(&claims).unwrap();
        let cut = cut.min(key.len() - 1);
        prop_assert!(verifier.verify(&key[..cut], NOW).is_err());
    }
}
