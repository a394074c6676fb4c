//! Phone numbers: kept as typed, compared by a normalised key.
//!
//! `+86 138 0013 8000`, `138-0013-8000` and `8613800138000` are one number, and
//! `+86 571 8765 4321` is the same landline as `0571-87654321`.

/// The digits that identify a number, with China's country code folded away and an
/// extension (`x12`, `ext. 12`, `转12`, `#12`) kept after an `x`.
pub fn normalize(raw: &str) -> String {
    let lower = raw.to_lowercase();
    let (main, ext) = split_extension(&lower);
    let mut digits: String = main.chars().filter(|c| c.is_ascii_digit()).collect();
    if let Some(rest) = digits.strip_prefix("00") {
        digits = rest.to_string();
    }
    if digits.len() >= 12
        && let Some(rest) = digits.strip_prefix("86")
    {
        digits = if (rest.len() == 11 && rest.starts_with('1')) || rest.starts_with('0') {
            rest.to_string()
        } else {
            format!("0{rest}")
        };
    }
    let ext: String = ext.chars().filter(|c| c.is_ascii_digit()).collect();
    if ext.is_empty() {
        digits
    } else {
        format!("{digits}x{ext}")
    }
}

fn split_extension(s: &str) -> (&str, &str) {
    for marker in ["ext.", "ext", "转", "x", "#"] {
        if let Some(pos) = s.find(marker) {
            return (&s[..pos], &s[pos + marker.len()..]);
        }
    }
    (s, "")
}

/// True when the text looks like a phone number: at least 3 digits, at most 20 in the
/// main part, and only digits, spaces, `+ - ( ) . /` and an extension marker.
pub fn is_valid(raw: &str) -> bool {
    let lower = raw.trim().to_lowercase();
    let (main, ext) = split_extension(&lower);
    let digits = main.chars().filter(|c| c.is_ascii_digit()).count();
    let main_ok = main
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/'));
    let ext_ok = ext.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '.');
    (3..=20).contains(&digits) && main_ok && ext_ok && ext.len() <= 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chinese_mobile_formats_match() {
        let n = normalize("13800138000");
        for f in [
            "+86 138 0013 8000",
            "138-0013-8000",
            "8613800138000",
            "138 0013 8000",
            "0086 13800138000",
            "+86-138-0013-8000",
        ] {
            assert_eq!(normalize(f), n, "{f}");
        }
    }

    #[test]
    fn landlines_and_extensions() {
        assert_eq!(normalize("0571-87654321"), normalize("+86 571 8765 4321"));
        assert_eq!(normalize("010-12345678转1234"), "01012345678x1234");
        assert_eq!(normalize("+1-202-555-0143 x99"), "12025550143x99");
    }

    #[test]
    fn validity() {
        assert!(is_valid("+86 138 0013 8000"));
        assert!(is_valid("(202) 555-0143 ext. 7"));
        assert!(is_valid("0571-87654321转1234"));
        assert!(!is_valid("call me"));
        assert!(!is_valid("12"));
        assert!(!is_valid("1234567890123456789012"));
        assert!(!is_valid("138<script>"));
    }

    proptest! {
        #[test]
        fn normalize_never_panics_and_is_idempotent_on_digits(s in "\\PC{0,40}") {
            let n = normalize(&s);
            prop_assert!(n.chars().all(|c| c.is_ascii_digit() || c == 'x'));
        }
    }
}
