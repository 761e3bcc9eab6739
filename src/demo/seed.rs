//! What the demo starts with: a demo account, an API token for the audience, three connected
//! channels (TikTok, Instagram, YouTube) whose tokens the simulator knows, and example rules.
//! Channels and rules go through the real API, as a person's script would.

use crate::ids::WorkspaceId;
use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::accounts::audit::Who;
use crate::accounts::{members, users};
use crate::auth::secret::random_hex;
use crate::auth::{password, tokens};
use crate::config::Secret;
use crate::domain::{Role, Scope};
use crate::simulate::World;
use crate::storage::Db;

pub const EMAIL: &str = "demo@unibox.test";

/// One demo channel: its platform, handle, id on the platform and access token.
pub struct Channel {
    pub platform: &'static str,
    pub handle: &'static str,
    pub id: &'static str,
    pub token: &'static str,
    /// Followers today (the history grows to it).
    pub followers: i64,
}

pub const CHANNELS: [Channel; 3] = [
    Channel {
        platform: "tiktok",
        handle: "lumen.studio",
        id: "7300000000000000001",
        token: "demo-tiktok-access-token",
        followers: 48_000,
    },
    Channel {
        platform: "instagram",
        handle: "lumen.studio",
        id: "17841400000000042",
        token: "demo-instagram-access-token",
        followers: 21_000,
    },
    Channel {
        platform: "youtube",
        handle: "LumenStudio",
        id: "UCdemo0000000000000000001",
        token: "demo-youtube-access-token",
        followers: 9_000,
    },
];

/// The demo account (created once, a fresh password at every start) and its password.
pub async fn account(db: &Db) -> anyhow::Result<String> {
    let password = Secret::new(random_hex(8));
    let hash = password::hash(&password).await?;
    let now = crate::clock::now();
    match users::by_email(db, EMAIL).await? {
        Some(user) => {
            users::set_password(db, user.id, &hash, now).await?;
        }
        None => {
            let mut tx = db.begin().await?;
            let id = users::add_in(&mut tx, EMAIL, &hash, true, now).await?;
            members::add_in(
                &mut tx,
                WorkspaceId(1),
                id,
                EMAIL,
                Role::Owner,
                &Who::command_line(),
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            tx.commit().await?;
        }
    }
    Ok(password.expose().to_owned())
}

/// A fresh admin token for the audience's calls.
pub async fn token(db: &Db) -> anyhow::Result<String> {
    let now = crate::clock::now();
    let (_, token) = tokens::create(
        db,
        WorkspaceId(1),
        "demo audience",
        Scope::Admin,
        &Who::command_line(),
        now,
    )
    .await?;
    Ok(token)
}

/// The unibox API as the demo calls it.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {body}");
        }
        Ok(body)
    }
}

/// Connects the demo channels (once) and tells the simulator whose tokens they are.
pub async fn channels(api: &Api, world: &World) -> anyhow::Result<()> {
    let connected = api
        .call(reqwest::Method::GET, "/api/v1/channels", None)
        .await?;
    let known: Vec<&str> = connected["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["platform_id"].as_str())
        .collect();
    for c in &CHANNELS {
        world.register(c.token, c.id);
        if known.contains(&c.id) {
            continue;
        }
        let body = json!({"platform": c.platform, "handle": c.handle, "platform_id": c.id,
                          "credentials": {"access_token": c.token}});
        api.call(reqwest::Method::POST, "/api/v1/channels", Some(body))
            .await?;
    }
    Ok(())
}

/// The example rules, when the workspace has none.
pub async fn rules(api: &Api) -> anyhow::Result<()> {
    let existing = api
        .call(reqwest::Method::GET, "/api/v1/rules", None)
        .await?;
    if existing["rules"].as_array().is_some_and(|r| !r.is_empty()) {
        return Ok(());
    }
    let weekdays: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| (d.to_string(), json!(["09:00-17:00"])))
        .collect();
    let rules = [
        json!({"name": "Price question", "mode": "auto", "delay_seconds": 0, "applies_to": ["comment"],
            "conditions": [{"type": "keywords", "any": ["prijs", "kost", "price", "hoeveel", "much"]}],
            "actions": [{"type": "reply", "variants": [
                "Hi{% if author.name is defined %} {{ author.name }}{% endif %}! It's €39, and free shipping this week 🙌",
                "€39{% if author.name is defined %}, {{ author.name }}{% endif %} — shipping is on us until Sunday ✨",
                "Hoi{% if author.name is defined %} {{ author.name }}{% endif %}! Hij kost €39, verzending gratis deze week 🙌"]}],
            "safeguards": {"max_per_hour": 500}}),
        json!({"name": "Link by DM", "mode": "auto", "delay_seconds": 0, "applies_to": ["comment"],
            "scope": {"platforms": ["instagram"]},
            "conditions": [{"type": "keywords", "any": ["link"]}],
            "actions": [{"type": "private_reply", "variants": [
                "Here it is: https://shop.example/lumen — tell us how you like it!"]}]}),
        json!({"name": "Hide spam", "mode": "auto", "delay_seconds": 0, "applies_to": ["comment"],
            "conditions": [{"type": "link"}],
            "actions": [{"type": "hide"}]}),
        json!({"name": "Complaint: suggest an answer", "mode": "suggest",
            "conditions": [{"type": "keywords", "any": ["teleurgesteld", "disappointed", "broken", "kapot", "refund", "bestelling"]}],
            "actions": [{"type": "reply", "variants": [
                "So sorry{% if author.name is defined %} {{ author.name }}{% endif %}! Could you DM us your order number? We'll sort it out today."]}]}),
        json!({"name": "After hours (DMs)", "mode": "suggest", "applies_to": ["dm"],
            "conditions": [{"type": "business_hours", "time_zone": "Europe/Amsterdam", "hours": weekdays, "negate": true}],
            "actions": [{"type": "reply", "variants": [
                "Thanks for your message! We're back at 9:00 and will answer you then."]}]}),
    ];
    for rule in rules {
        api.call(reqwest::Method::POST, "/api/v1/rules", Some(rule))
            .await?;
    }
    Ok(())
}
