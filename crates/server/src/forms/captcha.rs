//! A captcha Sable draws itself: five characters as distorted SVG strokes with noise
//! (paths only, never `<text>`, so the answer is not in the markup).
//!
//! The answer is derived from the server secret and a random nonce, so nothing is kept
//! per challenge: the token is `nonce.expiry.mac`, HMAC-signed with the secret. A token
//! expires after [`TTL_MS`] and is single-use (the store records used nonces, on every
//! node). Tests solve a challenge with [`answer`], which needs the secret — there is no
//! HTTP way to read an answer.

use sha2::{Digest, Sha256};

/// How long a challenge may be answered.
pub const TTL_MS: i64 = 10 * 60 * 1000;
/// Characters used: no look-alikes (0/O, 1/I, 2/Z, 5/S, 8/B).
const ALPHABET: &[u8] = b"ACEFHKLMNPRTWXY34679";
const LEN: usize = 5;

/// Why an answer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaError {
    Missing,
    Malformed,
    Expired,
    Wrong,
}

/// HMAC-SHA256 (RFC 2104) over sha2: the one keyed hash the captcha and IP hashes need.
pub fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn answer_of_nonce(secret: &[u8], nonce: &str) -> String {
    let h = hmac(secret, format!("captcha-answer:{nonce}").as_bytes());
    h.iter()
        .take(LEN)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn mac_of(secret: &[u8], nonce: &str, expires: i64) -> String {
    hex::encode(&hmac(secret, format!("captcha-token:{nonce}.{expires}").as_bytes())[..16])
}

/// A new challenge: the token to send back and the SVG to show.
pub fn issue(secret: &[u8], now_ms: i64) -> anyhow::Result<(String, String)> {
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let nonce = hex::encode(raw);
    let expires = now_ms + TTL_MS;
    let token = format!("{nonce}.{expires}.{}", mac_of(secret, &nonce, expires));
    let svg = draw(&answer_of_nonce(secret, &nonce))?;
    Ok((token, svg))
}

/// The answer of a token (for tests and the in-process solver only).
pub fn answer(secret: &[u8], token: &str) -> Option<String> {
    let (nonce, _) = parse(secret, token).ok()?;
    Some(answer_of_nonce(secret, &nonce))
}

fn parse(secret: &[u8], token: &str) -> Result<(String, i64), CaptchaError> {
    let mut parts = token.trim().split('.');
    let (Some(nonce), Some(expires), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(CaptchaError::Malformed);
    };
    let expires: i64 = expires.parse().map_err(|_| CaptchaError::Malformed)?;
    if nonce.len() != 24 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CaptchaError::Malformed);
    }
    let want = mac_of(secret, nonce, expires);
    let same = want.len() == mac.len() && want.bytes().zip(mac.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(CaptchaError::Malformed);
    }
    Ok((nonce.to_string(), expires))
}

/// Checks an answer (case and spaces ignored). Returns the nonce and expiry to mark used.
pub fn check(secret: &[u8], token: &str, given: &str, now_ms: i64) -> Result<(String, i64), CaptchaError> {
    if token.trim().is_empty() {
        return Err(CaptchaError::Missing);
    }
    let (nonce, expires) = parse(secret, token)?;
    if now_ms > expires {
        return Err(CaptchaError::Expired);
    }
    let given: String = given
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if given != answer_of_nonce(secret, &nonce) {
        return Err(CaptchaError::Wrong);
    }
    Ok((nonce, expires))
}

/// A small random generator for the drawing's noise (not for secrets).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

type Stroke = &'static [(f64, f64)];

/// Strokes of each character on a 4 × 6 grid.
fn glyph(c: char) -> &'static [Stroke] {
    match c {
        'A' => &[&[(0.0, 6.0), (2.0, 0.0), (4.0, 6.0)], &[(1.0, 3.5), (3.0, 3.5)]],
        'C' => &[&[
            (4.0, 1.0),
            (3.0, 0.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (0.0, 5.0),
            (1.0, 6.0),
            (3.0, 6.0),
            (4.0, 5.0),
        ]],
        'E' => &[
            &[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0), (4.0, 6.0)],
            &[(0.0, 3.0), (3.0, 3.0)],
        ],
        'F' => &[&[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0)], &[(0.0, 3.0), (3.0, 3.0)]],
        'H' => &[
            &[(0.0, 0.0), (0.0, 6.0)],
            &[(4.0, 0.0), (4.0, 6.0)],
            &[(0.0, 3.0), (4.0, 3.0)],
        ],
        'K' => &[
            &[(0.0, 0.0), (0.0, 6.0)],
            &[(4.0, 0.0), (0.0, 3.5)],
            &[(1.2, 2.8), (4.0, 6.0)],
        ],
        'L' => &[&[(0.0, 0.0), (0.0, 6.0), (4.0, 6.0)]],
        'M' => &[&[(0.0, 6.0), (0.0, 0.0), (2.0, 3.0), (4.0, 0.0), (4.0, 6.0)]],
        'N' => &[&[(0.0, 6.0), (0.0, 0.0), (4.0, 6.0), (4.0, 0.0)]],
        'P' => &[&[
            (0.0, 6.0),
            (0.0, 0.0),
            (3.0, 0.0),
            (4.0, 1.0),
            (4.0, 2.0),
            (3.0, 3.0),
            (0.0, 3.0),
        ]],
        'R' => &[
            &[
                (0.0, 6.0),
                (0.0, 0.0),
                (3.0, 0.0),
                (4.0, 1.0),
                (4.0, 2.0),
                (3.0, 3.0),
                (0.0, 3.0),
            ],
            &[(2.0, 3.0), (4.0, 6.0)],
        ],
        'T' => &[&[(0.0, 0.0), (4.0, 0.0)], &[(2.0, 0.0), (2.0, 6.0)]],
        'W' => &[&[(0.0, 0.0), (1.0, 6.0), (2.0, 2.0), (3.0, 6.0), (4.0, 0.0)]],
        'X' => &[&[(0.0, 0.0), (4.0, 6.0)], &[(4.0, 0.0), (0.0, 6.0)]],
        'Y' => &[&[(0.0, 0.0), (2.0, 3.0), (4.0, 0.0)], &[(2.0, 3.0), (2.0, 6.0)]],
        '3' => &[&[
            (0.0, 0.0),
            (4.0, 0.0),
            (2.0, 2.5),
            (4.0, 3.5),
            (4.0, 5.0),
            (3.0, 6.0),
            (0.0, 6.0),
        ]],
        '4' => &[&[(3.0, 6.0), (3.0, 0.0), (0.0, 4.0), (4.0, 4.0)]],
        '6' => &[&[
            (4.0, 0.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (0.0, 5.0),
            (1.0, 6.0),
            (3.0, 6.0),
            (4.0, 5.0),
            (4.0, 4.0),
            (3.0, 3.0),
            (0.0, 3.0),
        ]],
        '7' => &[&[(0.0, 0.0), (4.0, 0.0), (1.5, 6.0)]],
        _ => &[&[
            (4.0, 3.0),
            (1.0, 3.0),
            (0.0, 2.0),
            (0.0, 1.0),
            (1.0, 0.0),
            (3.0, 0.0),
            (4.0, 1.0),
            (4.0, 5.0),
            (3.0, 6.0),
            (0.0, 6.0),
        ]],
    }
}

/// Draws the text: each character scaled, rotated, sheared and jittered, plus noise lines
/// and dots, all as `<path>` elements.
fn draw(text: &str) -> anyhow::Result<String> {
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut n = Noise(u64::from_le_bytes(seed) | 1);
    let (w, h) = (200.0, 70.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\"><rect width=\"100%\" height=\"100%\" fill=\"#f4f1ea\"/>"
    );
    for _ in 0..6 {
        out.push_str(&format!(
            "<path d=\"M{:.1} {:.1} Q{:.1} {:.1} {:.1} {:.1}\" stroke=\"#8a8f98\" stroke-width=\"{:.1}\" fill=\"none\"/>",
            n.range(0.0, 40.0),
            n.range(0.0, h),
            n.range(40.0, 160.0),
            n.range(0.0, h),
            n.range(160.0, w),
            n.range(0.0, h),
            n.range(0.8, 2.0)
        ));
    }
    for (i, c) in text.chars().enumerate() {
        let scale = n.range(6.0, 8.0);
        let angle = n.range(-0.35, 0.35);
        let shear = n.range(-0.3, 0.3);
        let (ox, oy) = (18.0 + i as f64 * 35.0 + n.range(-4.0, 4.0), 12.0 + n.range(-5.0, 5.0));
        let mut d = String::new();
        for stroke in glyph(c) {
            for (k, (x, y)) in stroke.iter().enumerate() {
                let (x, y) = (x * scale * 0.8 + y * shear * scale * 0.3, y * scale);
                let (cx, cy) = (x - 12.0, y - 24.0);
                let (rx, ry) = (cx * angle.cos() - cy * angle.sin(), cx * angle.sin() + cy * angle.cos());
                let (px, py) = (ox + rx + 12.0 + n.range(-1.5, 1.5), oy + ry + 24.0 + n.range(-1.5, 1.5));
                d.push_str(&format!("{}{px:.1} {py:.1} ", if k == 0 { "M" } else { "L" }));
            }
        }
        out.push_str(&format!(
            "<path d=\"{}\" stroke=\"#1f2937\" stroke-width=\"{:.1}\" fill=\"none\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>",
            d.trim_end(),
            n.range(2.6, 3.6)
        ));
    }
    for _ in 0..40 {
        let (x, y) = (n.range(0.0, w), n.range(0.0, h));
        out.push_str(&format!(
            "<path d=\"M{x:.1} {y:.1} l{:.1} {:.1}\" stroke=\"#4b5563\" stroke-width=\"1.6\"/>",
            n.range(-2.0, 2.0),
            n.range(-2.0, 2.0)
        ));
    }
    out.push_str("</svg>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_token_is_solved_once_by_its_answer_only() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let (token, svg) = issue(secret, 1_000).unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("<text"));
        let a = answer(secret, &token).unwrap();
        assert!(!svg.contains(&a));
        assert!(check(secret, &token, &a.to_lowercase(), 2_000).is_ok());
        assert_eq!(check(secret, &token, "WRONG", 2_000), Err(CaptchaError::Wrong));
        assert_eq!(
            check(secret, &token, &a, 1_000 + TTL_MS + 1),
            Err(CaptchaError::Expired)
        );
        assert_eq!(
            check(b"another secret", &token, &a, 2_000),
            Err(CaptchaError::Malformed)
        );
        let forged = token.replacen(&token[..24], "000000000000000000000000", 1);
        assert_eq!(check(secret, &forged, &a, 2_000), Err(CaptchaError::Malformed));
        assert_eq!(check(secret, "", &a, 2_000), Err(CaptchaError::Missing));
        assert_eq!(check(secret, "a.b.c.d", &a, 2_000), Err(CaptchaError::Malformed));
    }

    #[test]
    fn every_character_has_a_glyph() {
        for c in ALPHABET {
            assert!(!glyph(*c as char).is_empty());
        }
    }
}
