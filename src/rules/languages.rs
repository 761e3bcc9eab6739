//! Naming a language in a rule: an ISO 639-1 code (`nl`), an ISO 639-3 code (`nld`) or its
//! English name (`Dutch`), each read as the detector's language.

use whatlang::Lang;

/// ISO 639-1 codes of the languages the detector tells apart.
const TWO_LETTER: &[(&str, &str)] = &[
    ("en", "eng"),
    ("ru", "rus"),
    ("zh", "cmn"),
    ("es", "spa"),
    ("pt", "por"),
    ("it", "ita"),
    ("bn", "ben"),
    ("fr", "fra"),
    ("de", "deu"),
    ("uk", "ukr"),
    ("ka", "kat"),
    ("ar", "ara"),
    ("hi", "hin"),
    ("ja", "jpn"),
    ("he", "heb"),
    ("yi", "yid"),
    ("pl", "pol"),
    ("am", "amh"),
    ("jv", "jav"),
    ("ko", "kor"),
    ("nb", "nob"),
    ("no", "nob"),
    ("da", "dan"),
    ("sv", "swe"),
    ("fi", "fin"),
    ("tr", "tur"),
    ("nl", "nld"),
    ("hu", "hun"),
    ("cs", "ces"),
    ("el", "ell"),
    ("bg", "bul"),
    ("be", "bel"),
    ("mr", "mar"),
    ("kn", "kan"),
    ("ro", "ron"),
    ("sl", "slv"),
    ("hr", "hrv"),
    ("sr", "srp"),
    ("mk", "mkd"),
    ("lt", "lit"),
    ("lv", "lav"),
    ("et", "est"),
    ("ta", "tam"),
    ("vi", "vie"),
    ("ur", "urd"),
    ("th", "tha"),
    ("gu", "guj"),
    ("uz", "uzb"),
    ("pa", "pan"),
    ("az", "aze"),
    ("id", "ind"),
    ("te", "tel"),
    ("fa", "pes"),
    ("ml", "mal"),
    ("or", "ori"),
    ("my", "mya"),
    ("ne", "nep"),
    ("si", "sin"),
    ("km", "khm"),
    ("tk", "tuk"),
    ("ak", "aka"),
    ("zu", "zul"),
    ("sn", "sna"),
    ("af", "afr"),
    ("la", "lat"),
    ("sk", "slk"),
    ("ca", "cat"),
    ("tl", "tgl"),
    ("hy", "hye"),
    ("eo", "epo"),
];

/// The language `name` names, if the detector knows it.
pub fn parse(name: &str) -> Option<Lang> {
    let name = name.trim().to_ascii_lowercase();
    if let Some((_, code)) = TWO_LETTER.iter().find(|(two, _)| *two == name) {
        return Lang::from_code(*code);
    }
    Lang::from_code(&name).or_else(|| {
        Lang::all()
            .iter()
            .copied()
            .find(|l| l.eng_name().eq_ignore_ascii_case(&name))
    })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use whatlang::Lang;

    #[test]
    fn codes_and_names() {
        for name in ["nl", "NL", "nld", "Dutch", "dutch"] {
            assert_eq!(parse(name), Some(Lang::Nld), "{name}");
        }
        assert_eq!(parse("en"), Some(Lang::Eng));
        assert_eq!(parse("German"), Some(Lang::Deu));
        assert_eq!(parse("klingon"), None);
        // Every two-letter code names a language the detector has.
        for code in ["af", "eo", "fa", "nb", "zh"] {
            assert!(parse(code).is_some(), "{code}");
        }
    }
}
