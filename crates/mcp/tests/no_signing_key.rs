//! The sidecar binary — what the .deb and the .mcpb ship — carries the platform's public key and
//! no signing-key seed (`qdsk_` + 43 base64url characters). `cargo xtask bundle --check` checks
//! the packages themselves (tests/bundle/test_no_signing_key.py); this runs in every
//! `cargo xtask test`.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

fn seeds(bytes: &[u8]) -> usize {
    let prefix = b"qdsk_";
    bytes
        .windows(prefix.len() + 43)
        .filter(|w| {
            w.starts_with(prefix)
                && w[prefix.len()..]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        })
        .count()
}

#[test]
fn the_sidecar_holds_only_the_public_key() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_quantdesk-mcp")).expect("the sidecar binary");
    assert_eq!(
        seeds(&binary),
        0,
        "a signing-key seed is compiled into the sidecar"
    );
    let public = quantdesk_keys::PLATFORM_PUBLIC_KEY.as_bytes();
    assert!(
        binary.windows(public.len()).any(|w| w == public),
        "the sidecar carries the platform's public key"
    );
    // The scan finds a seed where there is one.
    let issuer = quantdesk_keys::Issuer::generate().unwrap();
    let text = format!("xx{}yy", issuer.to_text());
    assert_eq!(seeds(text.as_bytes()), 1);
}
