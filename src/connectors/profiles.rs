//! Who wrote a DM: Meta's webhooks name a DM's sender only by an id scoped to the account
//! (an IGSID on Instagram, a PSID on Messenger). The platforms' user profile APIs give the
//! name: Instagram `GET /{igsid}?fields=name,username`, Messenger
//! `GET /{psid}?fields=first_name,last_name,name`. Both need the account's token.

use serde_json::Value;

use super::calls::{Outcome, Platforms, Refusal, read};
use crate::domain::Platform;

/// The read endpoint the profile look-ups count against in an account's read budget.
pub const PROFILE_READS: &str = "profile";

/// A person as the platform names them; either part may be missing (people who set none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub username: Option<String>,
    pub name: Option<String>,
}

/// Asks `platform` for the profile of `person` (their id scoped to the account whose
/// `token` is given).
pub async fn profile(
    p: &Platforms,
    platform: Platform,
    token: &str,
    person: &str,
) -> Result<Profile, Outcome> {
    // Meta's ids are digits; anything else would change the path the request goes to.
    if person.is_empty()
        || !person
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Outcome::refused(
            Refusal::Invalid,
            format!(
                "{person:?} is not an id {} can be asked about",
                platform.label()
            ),
        ));
    }
    let fields = match platform {
        Platform::Instagram => "name,username",
        Platform::Facebook => "first_name,last_name,name",
        _ => {
            return Err(Outcome::refused(
                Refusal::Invalid,
                format!("{} has no profile look-up here", platform.label()),
            ));
        }
    };
    let request = p
        .http
        .get(format!("{}/{person}", p.meta))
        .query(&[("fields", fields)])
        .bearer_auth(token);
    let body = read(request, |a| super::meta_send::refusal(None, a)).await?;
    Ok(named(&body))
}

/// The name and username in a profile answer of either API.
fn named(body: &Value) -> Profile {
    let text = |key: &str| {
        body[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let whole = [text("first_name"), text("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Profile {
        username: text("username"),
        name: text("name").or((!whole.is_empty()).then_some(whole)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_from_either_api() {
        let ig = named(&json!({"id": "1", "name": "Anna de Vries", "username": "anna.dv"}));
        assert_eq!(ig.name.as_deref(), Some("Anna de Vries"));
        assert_eq!(ig.username.as_deref(), Some("anna.dv"));
        let fb = named(&json!({"id": "2", "first_name": "Sam", "last_name": "Jansen"}));
        assert_eq!(fb.name.as_deref(), Some("Sam Jansen"));
        assert_eq!(fb.username, None);
        assert_eq!(named(&json!({"id": "3", "name": "  "})), Profile::default());
    }
}
