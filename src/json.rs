//! Reading JSON strictly: a key given twice or a NUL character is refused wherever JSON is
//! read (a silent "last one wins" hides client bugs, and PostgreSQL cannot store NUL).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Reads any JSON value, refusing a key given twice in one object and, when `refuse_nul`,
/// NUL characters in keys and strings.
#[derive(Clone, Copy)]
struct Strict {
    refuse_nul: bool,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Strict {
    fn text<E: de::Error>(self, s: &str) -> Result<(), E> {
        if self.refuse_nul && s.contains('\0') {
            return Err(E::custom("text must not contain NUL (\\u0000) characters"));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.text(v)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.text(&v)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.text(&key)?;
            let value = map.next_value_seed(self)?;
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    return Err(de::Error::custom(format!(
                        "the key \"{}\" appears twice in one object",
                        slot.key()
                    )));
                }
            }
        }
        Ok(Value::Object(out))
    }
}

fn parse_with(body: &[u8], refuse_nul: bool) -> Result<Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = Strict { refuse_nul }.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Parses `body`, refusing duplicate keys and NUL characters anywhere.
pub fn parse(body: &[u8]) -> Result<Value, serde_json::Error> {
    parse_with(body, true)
}

/// Parses `body`, refusing duplicate keys; the caller checks each text field itself (and can
/// name the field that holds a NUL).
pub fn parse_keys_once(body: &[u8]) -> Result<Value, serde_json::Error> {
    parse_with(body, false)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn duplicates_and_nul_are_refused_anywhere() {
        assert!(parse(br#"{"a": 1, "b": [{"c": "x"}]}"#).is_ok());
        for bad in [
            r#"{"a": 1, "a": 2}"#,
            r#"[{"x": {"y": 1, "y": 1}}]"#,
            r#"{"a": "b\u0000c"}"#,
            r#"{"a\u0000": 1}"#,
            r#"{"\u0061": 1, "a": 2}"#,
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        // A backslash followed by "u0000" is text, not a NUL.
        assert!(parse(br#"{"a": "\\u0000"}"#).is_ok());
    }
}
