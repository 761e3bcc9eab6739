//! Whose token is this: each platform asked which account a token answers for, in its own
//! format. Meta: `GET /me?fields=id,name,username,instagram_business_account` (a Page token
//! names its Page and the Instagram account linked to it); TikTok: `GET /business/get/` for
//! the business account, which answers only to that account's token; YouTube:
//! `GET /channels?part=id,snippet&mine=true`.

use serde_json::{Map, Value};

use super::calls::{Outcome, Platforms, Refusal, id_of, read};
use crate::domain::Platform;

/// The account a token answered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub name: Option<String>,
    /// The call that said so, e.g. `meta /me`.
    pub via: &'static str,
}

/// Asks `platform` which account `credentials` (its `access_token`, for TikTok also its
/// `business_id`) belong to; `claimed` is the channel's platform id. `Ok(None)`: nothing to
/// ask (no token, or a custom channel).
pub async fn whose(
    p: &Platforms,
    platform: Platform,
    claimed: &str,
    credentials: &Map<String, Value>,
) -> Result<Option<Identity>, Outcome> {
    let Some(token) = credentials.get("access_token").and_then(Value::as_str) else {
        return Ok(None);
    };
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    match platform {
        Platform::Instagram | Platform::Facebook => {
            let request = p
                .http
                .get(format!("{}/me", p.meta))
                .query(&[("fields", "id,name,username,instagram_business_account")])
                .bearer_auth(token);
            let me = read(request, |a| super::meta_send::refusal(None, a)).await?;
            let linked = &me["instagram_business_account"];
            let (node, name) = match id_of(&linked["id"]) {
                Some(ig) if platform == Platform::Instagram => (
                    Some(ig),
                    text(&linked["username"]).or_else(|| text(&me["name"])),
                ),
                _ => (
                    id_of(&me["id"]),
                    text(&me["username"]).or_else(|| text(&me["name"])),
                ),
            };
            let account =
                node.ok_or_else(|| Outcome::retry("Meta's /me answered without an id"))?;
            Ok(Some(Identity {
                account,
                name,
                via: "meta /me",
            }))
        }
        Platform::Tiktok => {
            let business = credentials
                .get("business_id")
                .and_then(Value::as_str)
                .unwrap_or(claimed);
            let data = super::tiktok::account(p, token, business, r#"["username","display_name"]"#)
                .await?;
            Ok(Some(Identity {
                account: business.to_owned(),
                name: text(&data["username"]).or_else(|| text(&data["display_name"])),
                via: "tiktok business/get",
            }))
        }
        Platform::Youtube => {
            let request = p
                .http
                .get(format!("{}/channels", p.youtube))
                .query(&[("part", "id,snippet"), ("mine", "true")])
                .bearer_auth(token);
            let body = read(request, super::youtube_send::refusal).await?;
            let channel = &body["items"][0];
            let account = id_of(&channel["id"]).ok_or_else(|| {
                Outcome::refused(
                    Refusal::Invalid,
                    "YouTube says the Google account behind this token has no channel",
                )
            })?;
            Ok(Some(Identity {
                account,
                name: text(&channel["snippet"]["title"]),
                via: "youtube channels?mine=true",
            }))
        }
        Platform::Custom => Ok(None),
    }
}
