//! The audience from now on: every second, followers comment (Instagram's and TikTok's
//! comments arrive as their signed webhooks, YouTube's are polled), reply to each other, send
//! DMs, and watch, like, share and save, so the statistics the polls read keep growing. A
//! video whose comments got answers (by a rule or a person, as the simulator saw) draws
//! `1 + reply_effect` times the engagement. `speed` simulated minutes pass per second.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::corpus;
use super::history::{DemoVideo, RATES, comment, new_video};
use super::seed::CHANNELS;
use crate::connectors::signature::{sign_hmac_sha256, sign_tiktok};
use crate::engagement::compare::Rng;
use crate::simulate::World;

/// Comments per simulated minute on each channel.
const COMMENTS_PER_MINUTE: f64 = 0.6;
/// TikTok's webhook costs a `comment/list` call of the account's 40 a minute, of which the
/// polls leave 20: the audience writes TikTok at most this many comments a real second.
const TIKTOK_COMMENTS_PER_SECOND: f64 = 0.2;
/// A channel posts a new video every this many simulated hours.
const POST_EVERY_HOURS: f64 = 8.0;

/// A TikTok notice TikTok will deliver again (it retries webhooks that were not taken).
struct Redelivery {
    body: Vec<u8>,
    attempts: u32,
}

pub struct Audience {
    pub world: Arc<World>,
    pub base: String,
    pub meta_secret: String,
    pub tiktok_secret: String,
    pub videos: Vec<DemoVideo>,
    pub speed: f64,
    pub effect: f64,
    pub rng: Rng,
}

impl Audience {
    pub async fn run(mut self) {
        let http = reqwest::Client::new();
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut posted = 0.0;
        // New videos get numbers no earlier run used.
        let mut made = Utc::now().timestamp();
        let mut again: Vec<Redelivery> = Vec::new();
        loop {
            ticker.tick().await;
            for mut r in std::mem::take(&mut again) {
                if !self.tiktok(&http, &r.body).await && r.attempts < 5 {
                    r.attempts += 1;
                    again.push(r);
                }
            }
            let minutes = self.speed / 60.0;
            let answered = self.answered_videos();
            posted += minutes / 60.0;
            if posted >= POST_EVERY_HOURS {
                posted = 0.0;
                for (k, c) in CHANNELS.iter().enumerate() {
                    made += 1;
                    let v = new_video(&mut self.rng, c, 1000 * k as i64 + 500 + made, Utc::now());
                    self.world.set_video(v.as_world(Utc::now(), self.effect));
                    self.videos.push(v);
                }
            }
            for c in &CHANNELS {
                let mut expected = minutes * COMMENTS_PER_MINUTE;
                if c.platform == "tiktok" {
                    expected = expected.min(TIKTOK_COMMENTS_PER_SECOND);
                }
                while expected > 0.0 {
                    if self.rng.unit() < expected.min(1.0)
                        && let Some(body) = self.comment(&http, c.platform, &answered).await
                    {
                        again.push(Redelivery { body, attempts: 1 });
                    }
                    expected -= 1.0;
                }
            }
            if self.rng.unit() < minutes * 0.05 {
                self.dm(&http).await;
            }
            self.watch(minutes, &answered);
        }
    }

    /// Videos with one of our replies on them, as the platforms hold them.
    fn answered_videos(&self) -> HashSet<String> {
        self.world
            .writes()
            .into_iter()
            .filter(|w| w.action == "reply")
            .filter_map(|w| self.world.get(&w.target).and_then(|i| i.video))
            .collect()
    }

    fn boost(&self, v: &DemoVideo, answered: &HashSet<String>) -> f64 {
        if v.engaged || answered.contains(&v.id) {
            1.0 + self.effect
        } else {
            1.0
        }
    }

    /// One new comment; a TikTok notice that was not taken, to deliver again.
    async fn comment(
        &mut self,
        http: &reqwest::Client,
        platform: &str,
        answered: &HashSet<String>,
    ) -> Option<Vec<u8>> {
        // Recent videos draw most comments; answered ones draw more.
        let mine: Vec<&DemoVideo> = self
            .videos
            .iter()
            .filter(|v| v.platform == platform)
            .collect();
        let recent = &mine[mine.len().saturating_sub(6)..];
        let weights: Vec<f64> = recent.iter().map(|v| self.boost(v, answered)).collect();
        let mut pick = self.rng.unit() * weights.iter().sum::<f64>();
        let mut chosen = recent[recent.len() - 1].clone();
        for (v, w) in recent.iter().zip(&weights) {
            if pick < *w {
                chosen = (*v).clone();
                break;
            }
            pick -= w;
        }
        let v = chosen;
        let said = corpus::draw(&mut self.rng, v.product);
        let text = corpus::text(&mut self.rng, said);
        let author = self.rng.draw() % 400;
        // Now and then a reply to someone else's comment.
        let parent = (self.rng.unit() < 0.2)
            .then(|| {
                self.world
                    .on_video(platform, &v.id)
                    .into_iter()
                    .rev()
                    .find(|i| i.parent.is_none() && i.by_token.is_none())
                    .map(|i| i.id)
            })
            .flatten();
        let id = self.world.id(platform);
        let now = Utc::now();
        let (_, item) = comment(&v, &id, author, text, parent.as_deref(), now);
        self.world.add(item);
        // The platform's count includes every comment on the video.
        if let Some(mut shown) = self.world.video(platform, &v.id) {
            shown.comments += 1;
            self.world.set_video(shown);
        }
        let shown = super::history::author_as_shown(platform, author);
        let handle = shown["username"].as_str().unwrap_or_default().to_owned();
        match platform {
            "instagram" => {
                let mut value = json!({"id": id, "text": text, "from": {"id": format!("{author}"), "username": handle},
                    "media": {"id": v.id, "media_product_type": "REELS"}});
                if let Some(p) = &parent {
                    value["parent_id"] = json!(p);
                }
                let body = json!({"object": "instagram", "entry": [{"id": v.channel, "time": now.timestamp(),
                    "changes": [{"field": "comments", "value": value}]}]});
                self.meta(http, &body).await;
                None
            }
            "tiktok" => {
                let content = format!(
                    "{{\"comment_id\":{id},\"video_id\":{},\"parent_comment_id\":{},\"comment_type\":\"{}\",\"comment_action\":\"insert\",\"timestamp\":{},\"unique_identifier\":\"{handle}\"}}",
                    v.id,
                    parent.as_deref().unwrap_or("0"),
                    if parent.is_some() { "reply" } else { "comment" },
                    now.timestamp_millis()
                );
                let body =
                    serde_json::to_vec(&json!({"client_key": "demo", "event": "comment.update",
                    "create_time": now.timestamp(), "user_openid": v.channel, "content": content}))
                    .unwrap_or_default();
                (!self.tiktok(http, &body).await).then_some(body)
            }
            // YouTube has no webhooks for comments: the poll finds it.
            _ => None,
        }
    }

    /// Delivers a TikTok notice, signed now; whether it was taken (a 503 when unibox cannot
    /// fetch the comment yet, which the demo's pace avoids).
    async fn tiktok(&self, http: &reqwest::Client, body: &[u8]) -> bool {
        let t = Utc::now().timestamp();
        let signature = sign_tiktok(&self.tiktok_secret, body, t);
        post(
            http,
            &format!("{}/webhooks/tiktok", self.base),
            body.to_vec(),
            "tiktok-signature",
            signature,
        )
        .await
    }

    async fn dm(&mut self, http: &reqwest::Client) {
        let ig = &CHANNELS[1];
        let author = 500 + self.rng.draw() % 50;
        let now = Utc::now();
        let body = json!({"object": "instagram", "entry": [{"id": ig.id, "time": now.timestamp_millis(),
            "messaging": [{"sender": {"id": format!("{author}")}, "recipient": {"id": ig.id},
                "timestamp": now.timestamp_millis(),
                "message": {"mid": format!("m_live_{}_{}", now.timestamp_millis(), self.rng.draw()), "text": corpus::dm(&mut self.rng)}}]}]});
        self.meta(http, &body).await;
    }

    async fn meta(&self, http: &reqwest::Client, body: &serde_json::Value) {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let signature = format!(
            "sha256={}",
            sign_hmac_sha256(self.meta_secret.as_bytes(), &body)
        );
        let url = format!("{}/webhooks/meta", self.base);
        if !post(http, &url, body, "x-hub-signature-256", signature).await {
            tracing::debug!("a demo webhook to Meta's endpoint was not taken");
        }
    }

    /// Views and engagement grow; answered videos engage more.
    fn watch(&mut self, minutes: f64, answered: &HashSet<String>) {
        let now = Utc::now();
        for i in 0..self.videos.len() {
            let v = &self.videos[i];
            let Some(mut shown) = self.world.video(v.platform, &v.id) else {
                self.world.set_video(v.as_world(now, self.effect));
                continue;
            };
            let age = v.age_days(now).max(0.01);
            let views = (v.total_views / v.tau_days * (-age / v.tau_days).exp() * minutes / 1440.0)
                .max(0.0);
            let engaged_views = views * self.boost(v, answered) * v.appeal;
            let [likes, comments, shares, saves] = RATES.map(|rate| {
                let x = engaged_views * rate;
                x.floor() as i64 + i64::from(self.rng.unit() < x.fract())
            });
            shown.views += views.round() as i64;
            shown.likes += likes;
            shown.comments += comments;
            shown.shares += shares;
            shown.saves += saves;
            self.world.set_video(shown);
        }
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    header: &str,
    signature: String,
) -> bool {
    http.post(url)
        .header("content-type", "application/json")
        .header(header, signature)
        .body(body)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}
