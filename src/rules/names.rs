//! How a reply calls a person: by the name they chose, never by the default a platform gives
//! an account that set none ("User 93", "user_93", "@245", "@user-x7k2p9", a bare number).

/// `raw` without a leading `@`, trimmed; `None` when it is blank or a platform's default.
pub fn chosen(raw: Option<&str>) -> Option<&str> {
    let name = raw?.trim();
    let bare = name.strip_prefix('@').unwrap_or(name).trim();
    (!bare.is_empty() && !is_default(bare)).then_some(bare)
}

/// Whether `name` (without `@`) is a platform's default: digits alone, "user" and digits
/// (TikTok's "user8234…", "User 93"), or YouTube's "user-" and letters and digits.
pub fn is_default(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if digits(name) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("user") else {
        return false;
    };
    if let Some(generated) = rest.strip_prefix('-') {
        return generated.len() >= 4
            && generated.chars().all(|c| c.is_ascii_alphanumeric())
            && generated.chars().any(|c| c.is_ascii_digit());
    }
    digits(rest.trim_start_matches([' ', '_', '.']))
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn defaults_are_no_names() {
        for default in [
            "User 93",
            "user_93",
            "@245",
            "245",
            "@user-x7k2p9",
            "user123456",
            " ",
            "@",
        ] {
            assert_eq!(chosen(Some(default)), None, "{default}");
        }
        assert_eq!(chosen(Some("@lucas_193")), Some("lucas_193"));
        assert_eq!(chosen(Some("Lucas")), Some("Lucas"));
        assert_eq!(chosen(Some("username")), Some("username"));
        assert_eq!(chosen(Some("userkate")), Some("userkate"));
        assert_eq!(chosen(Some("Daan 2")), Some("Daan 2"));
        assert_eq!(chosen(Some("user_c1")), Some("user_c1"));
        assert_eq!(chosen(None), None);
    }
}
