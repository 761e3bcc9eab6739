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
    #[error("the signature's time is more than five minutes off: a replay, or a clock far off")]
    Stale,
}

/// How far a signed time may be from ours (TikTok's `t`).
pub const TIKTOK_TOLERANCE_SECONDS: i64 = 300;

/// TikTok's `TikTok-Signature: t=<unix s>,s=<hex>`, where `s` is HMAC-SHA256 of
/// `t + "." + raw body`; a `t` more than five minutes from `now` is refused (replays).
pub fn verify_tiktok(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let (mut t, mut s) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("s", v)) => s = Some(v),
            _ => {}
        }
    }
    let (t, s) = (
        t.ok_or(SignatureError::Malformed)?,
        s.ok_or(SignatureError::Malformed)?,
    );
    let at: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    let mut signed = Vec::with_capacity(t.len() + 1 + body.len());
    signed.extend_from_slice(t.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    verify_hmac_sha256(secret.as_bytes(), &signed, s)?;
    if (now - at).abs() > TIKTOK_TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// A `TikTok-Signature` header for `body` at `t` (for tests and the simulator).
pub fn sign_tiktok(secret: &str, body: &[u8], t: i64) -> String {
    let mut signed = t.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!("t={t},s={}", sign_hmac_sha256(secret.as_bytes(), &signed))
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
    // Hex digits only: `from_str_radix` alone would take a sign (`+a`).
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
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
    fn hex_is_read_strictly() {
        let zeros = "0".repeat(62);
        assert_eq!(decode_hex(&format!("0a{zeros}")).unwrap()[0], 10);
        assert_eq!(decode_hex(&format!("0A{zeros}")).unwrap()[0], 10);
        // `+a` would be read as the byte 0x0a by a number parser; it is not hex.
        for bad in ["+a", "-0", " a", "0x"] {
            assert_eq!(decode_hex(&format!("{bad}{zeros}")), None, "{bad}");
        }
    }

    #[test]
    fn tiktok_signatures_cover_the_time_and_refuse_replays() {
        let body = br#"{"event":"comment.update"}"#;
        let header = sign_tiktok("client-secret", body, 1_764_000_000);
        assert_eq!(
            verify_tiktok("client-secret", Some(&header), body, 1_764_000_100),
            Ok(())
        );
        assert_eq!(
            verify_tiktok("other", Some(&header), body, 1_764_000_100),
            Err(SignatureError::Wrong)
        );
        assert_eq!(
            verify_tiktok("client-secret", Some(&header), b"{}", 1_764_000_100),
            Err(SignatureError::Wrong)
        );
        // The same delivery replayed an hour later.
        assert_eq!(
            verify_tiktok("client-secret", Some(&header), body, 1_764_003_600),
            Err(SignatureError::Stale)
        );
        // Another time with the same signature.
        let moved = header.replace("t=1764000000", "t=1764000100");
        assert_eq!(
            verify_tiktok("client-secret", Some(&moved), body, 1_764_000_100),
            Err(SignatureError::Wrong)
        );
        assert_eq!(
            verify_tiktok("client-secret", Some("s=abc"), body, 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_tiktok("client-secret", None, body, 0),
            Err(SignatureError::Missing)
        );
    }

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
