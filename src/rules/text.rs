//! Text as rules read it: folded for matching ("Café" and "CAFE" both read "cafe"), with word
//! boundaries that work for spaced scripts, CJK and emoji alike.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Lower case without diacritics, compatibility forms spelled out (`ﬁ` reads `fi`).
/// Character by character: the marks that canonical reordering would move are dropped anyway.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                out.extend(d.to_lowercase());
            }
        });
    }
    out
}

/// Scripts written without spaces between words: each character stands on its own, so a
/// keyword in them matches wherever it appears.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK Extension A
        | 0x4E00..=0x9FFF   // CJK Unified Ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK Compatibility Ideographs
        | 0x0E00..=0x0E7F   // Thai
        | 0x20000..=0x2FFFF)
}

/// A letter or digit of a spaced script: such characters on both sides of an edge make it no
/// word boundary ("hi" is not in "this").
pub fn joins(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !unspaced(c)
}

/// Whether `haystack[start..end]` stands as a whole word (or run of words) in `haystack`.
pub fn at_boundaries(haystack: &str, start: usize, end: usize) -> bool {
    let inner_first = haystack[start..end].chars().next();
    let inner_last = haystack[start..end].chars().next_back();
    let before = haystack[..start].chars().next_back();
    let after = haystack[end..].chars().next();
    let open = !matches!((before, inner_first), (Some(b), Some(f)) if joins(b) && joins(f));
    let close = !matches!((inner_last, after), (Some(l), Some(a)) if joins(l) && joins(a));
    open && close
}

/// Words: runs of letters and digits (of spaced scripts), and each unspaced-script character.
pub fn word_count(text: &str) -> usize {
    let mut count = 0;
    let mut inside = false;
    for c in text.chars() {
        if unspaced(c) {
            count += 1;
            inside = false;
        } else if joins(c) {
            if !inside {
                count += 1;
            }
            inside = true;
        } else {
            inside = false;
        }
    }
    count
}

/// Asks something: a question mark (Latin, Arabic, Greek or full-width) anywhere.
pub fn is_question(text: &str) -> bool {
    text.contains(['?', '？', '؟'])
}

/// Holds a web address (`http(s)://…`, `www.…`) or a bare domain with a common ending.
pub fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    lower.split(|c: char| c.is_whitespace()).any(|token| {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        match token.rsplit_once('.') {
            Some((name, tld)) => {
                !name.is_empty()
                    && !name.contains('@')
                    && matches!(
                        tld,
                        "com"
                            | "net"
                            | "org"
                            | "io"
                            | "nl"
                            | "be"
                            | "de"
                            | "fr"
                            | "co"
                            | "shop"
                            | "store"
                            | "ly"
                            | "me"
                    )
            }
            None => false,
        }
    })
}

/// Holds something shaped like an email address.
pub fn has_email(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')'))
        .any(|token| {
            let token = token.trim_end_matches(['.', '!', '?']);
            match token.split_once('@') {
                Some((user, domain)) => {
                    !user.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains('@')
                }
                None => false,
            }
        })
}

/// Nothing but @mentions (tagging friends), at least one.
pub fn only_mentions(text: &str) -> bool {
    let mut any = false;
    for token in text.split_whitespace() {
        let Some(name) = token.strip_prefix('@') else {
            return false;
        };
        if name.is_empty() {
            return false;
        }
        any = true;
    }
    any
}

/// Nothing but emoji (and spaces or joiners between them), at least one.
pub fn only_emoji(text: &str) -> bool {
    let mut any = false;
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}') || is_modifier(c)
        {
            continue;
        }
        if !is_emoji(c) {
            return false;
        }
        any = true;
    }
    any
}

fn is_modifier(c: char) -> bool {
    matches!(c as u32, 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, symbols, flags
        | 0x2600..=0x27BF   // miscellaneous symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows, stars
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x2122)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_by_character_equals_folding_the_whole_text() {
        use unicode_normalization::UnicodeNormalization;
        let text = "Ǆemal CAFÉ cafe\u{301} ﬁne Ａｂｃ 가나다 İstanbul ẞ ῼ 👩🏽‍💻 Ωmega";
        let whole: String = text
            .nfkd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .collect();
        assert_eq!(fold(text), whole);
    }

    #[test]
    fn folding_ignores_case_and_diacritics() {
        assert_eq!(fold("Café CRÈME Ångström"), "cafe creme angstrom");
        assert_eq!(fold("ﬁne"), "fine");
    }

    #[test]
    fn boundaries_for_every_script() {
        let text = fold("this is hi there, 我可以买吗 ❤️hi");
        let find = |needle: &str| {
            text.match_indices(needle)
                .any(|(i, m)| at_boundaries(&text, i, i + m.len()))
        };
        assert!(find("hi"), "hi as a word");
        assert!(!find("thi"), "part of a word");
        assert!(find("可以"), "CJK needs no spaces");
        assert!(find("❤"));
        let only_this = fold("this");
        assert!(!only_this.match_indices("hi").any(|(i, m)| at_boundaries(
            &only_this,
            i,
            i + m.len()
        )));
    }

    #[test]
    fn shapes_of_messages() {
        assert_eq!(word_count("Waar kan ik dit kopen?"), 5);
        assert_eq!(word_count("我可以"), 3);
        assert_eq!(word_count("🔥🔥"), 0);
        assert!(is_question("How much？"));
        assert!(!is_question("Great video!"));
        assert!(has_link("see https://example.com/x"));
        assert!(has_link("check shop.acme.nl now"));
        assert!(!has_link("version 2.0 is out"));
        assert!(has_email("mail me: lisa@example.com."));
        assert!(!has_email("@lisa at the shop"));
        assert!(only_mentions("@lisa @tom"));
        assert!(!only_mentions("@lisa look"));
        assert!(only_emoji("🔥🔥 👩🏽‍💻 ❤️"));
        assert!(!only_emoji("🔥 nice"));
        assert!(!only_emoji("   "));
    }
}
