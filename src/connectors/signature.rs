//! Webhook signatures: HMAC-SHA256 of the raw body, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is not in the platform's format")]
    Malformed,
    #[error("the signature does not match the body")]
    Wrong,
}

/// Checks `expected_hex` (lower- or upper-case hex) against HMAC-SHA256(`secret`, `message`).
pub fn verify_hmac_sha256(
    secret: &[u8],
    message: &[u8],
    expected_hex: &str,
) -> Result<(), SignatureError> {
    let expected = decode_hex(expected_hex).ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Wrong)?;
    mac.update(message);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Wrong)
}

/// Whether two secrets are equal, compared in constant time (as MACs of a fixed key).
pub fn same_secret(given: &str, expected: &str) -> bool {
    let tag = |s: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"unibox: compare").expect("any key length");
        mac.update(s.as_bytes());
        mac
    };
    let expected_tag = tag(expected).finalize().into_bytes();
    tag(given).verify_slice(&expected_tag).is_ok()
}

/// HMAC-SHA256 as lower-case hex (for tests and the simulator).
pub fn sign_hmac_sha256(secret: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Meta's `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn verify_meta(secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    verify_hmac_sha256(secret.as_bytes(), body, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_signatures_are_checked_on_the_raw_body() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let good = format!("sha256={}", sign_hmac_sha256(b"app-secret", body));
        assert_eq!(verify_meta("app-secret", Some(&good), body), Ok(()));
        assert_eq!(
            verify_meta(
                "app-secret",
                Some(&good.to_uppercase().replace("SHA256=", "sha256=")),
                body
            ),
            Ok(())
        );
        assert_eq!(
            verify_meta("other", Some(&good), body),
            Err(SignatureError::Wrong)
        );
        let changed = br#"{"object":"instagram","entry":[] }"#;
        assert_eq!(
            verify_meta("app-secret", Some(&good), changed),
            Err(SignatureError::Wrong)
        );
        assert_eq!(
            verify_meta("app-secret", None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_meta("app-secret", Some("sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_meta("app-secret", Some("sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_meta("app-secret", Some("sha256=ééé"), body),
            Err(SignatureError::Malformed)
        );
    }
}
