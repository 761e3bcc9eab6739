//! Small closed vocabularies of the product, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a string-backed enum with parsing, display and serde in lower-case words.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
                 utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// The accepted words, for error messages.
            pub fn choices() -> String {
                [$($word),+].join(", ")
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(format!("must be one of: {}", $name::choices())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Stored as its word in a text column, on either backend.
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let word = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(word.parse()?)
            }
        }

        impl From<$name> for crate::storage::Arg {
            fn from(word: $name) -> Self {
                crate::storage::Arg::Text(word.as_str().to_owned())
            }
        }
    };
}

word_enum!(
    /// Where a channel lives.
    Platform { Tiktok => "tiktok", Instagram => "instagram", Facebook => "facebook", Youtube => "youtube", Custom => "custom" }
);

word_enum!(
    /// Whether the platform said a channel's token is its account's. Only `verified` channels
    /// receive webhooks and polls; `pending` ones are asked again by a worker, `refused` ones
    /// wait for new credentials, `unverified` ones have no token to ask with.
    Verification { Unverified => "unverified", Pending => "pending", Verified => "verified", Refused => "refused" }
);

word_enum!(
    /// A public comment under a video, or a private direct message.
    Kind { Comment => "comment", Dm => "dm" }
);

word_enum!(
    /// Whether a thread still needs attention.
    Status { Open => "open", Done => "done" }
);

word_enum!(
    /// Who wrote a message: someone else (inbound) or the account itself (outbound).
    Direction { Inbound => "inbound", Outbound => "outbound" }
);

word_enum!(
    /// How a message came to be: from the platform, typed by a person, or sent by a rule.
    Source { Platform => "platform", Manual => "manual", Rule => "rule" }
);

word_enum!(
    /// Delivery state. Inbound messages are `received`; outbound ones move from `queued` on. A
    /// rule's reply may instead wait for a person (`suggested`, then `queued` or `rejected`) or
    /// be recorded only (`dry_run`). A reply whose outbox row ended badly is stored `failed`
    /// and read with the row's word (`dead`, `expired`, `cancelled`), so a state has one name.
    State { Received => "received", Queued => "queued", Sending => "sending", Sent => "sent", Failed => "failed",
            Suggested => "suggested", DryRun => "dry_run", Rejected => "rejected", Dead => "dead",
            Expired => "expired", Cancelled => "cancelled" }
);

word_enum!(
    /// What the outbox asks a platform to do.
    Deed { Reply => "reply", PrivateReply => "private_reply", Dm => "dm", Like => "like", Hide => "hide",
           Unhide => "unhide", Delete => "delete" }
);

impl Direction {
    /// Outbound when the account itself wrote the message, else inbound.
    pub fn ours(ours: bool) -> Direction {
        if ours {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    }
}

impl Deed {
    /// Whether doing this makes a message of ours (a reply or a DM) rather than acting on one.
    pub fn makes_message(self) -> bool {
        matches!(self, Deed::Reply | Deed::PrivateReply | Deed::Dm)
    }
}

word_enum!(
    /// Where an outbox row stands: waiting (`queued`, or `failed` and retrying), leased by a
    /// dispatcher (`sending`), or finished (`sent`; `dead` after giving up or a refusal;
    /// `cancelled` by a person; `expired` when the platform's window closed first).
    Delivery { Queued => "queued", Sending => "sending", Sent => "sent", Failed => "failed", Dead => "dead",
               Cancelled => "cancelled", Expired => "expired" }
);

impl Delivery {
    /// Whether a person may send the row again: it ended badly, or is between retries. Not
    /// once the platform's window closed: no attempt can succeed (a new reply can, once the
    /// person writes again).
    pub fn may_retry(self) -> bool {
        matches!(
            self,
            Delivery::Dead | Delivery::Failed | Delivery::Cancelled
        )
    }

    /// Whether a person may call the row back: it has not gone out and is not going out now.
    pub fn may_cancel(self) -> bool {
        matches!(self, Delivery::Queued | Delivery::Failed | Delivery::Dead)
    }
}

word_enum!(
    /// How a rule acts: on its own after its delay, by suggesting a reply for a person to
    /// approve, or by recording what it would have done.
    Mode { Auto => "auto", Suggest => "suggest", DryRun => "dry_run" }
);

word_enum!(
    /// Where a rule run stands: waiting for its time (`due`) or a person (`suggested`), acted
    /// on (`done`, or `approved` by a person), recorded only (`dry_run`), stopped by a
    /// safeguard (`suppressed`), no longer sensible when due (`skipped`), or `rejected`.
    RunOutcome { Due => "due", Done => "done", Skipped => "skipped", Suppressed => "suppressed",
                 Suggested => "suggested", DryRun => "dry_run", Approved => "approved", Rejected => "rejected" }
);

impl RunOutcome {
    /// Whether the run answers (or will answer) its message: a later rule must not as well.
    pub fn answers(self) -> bool {
        matches!(self, RunOutcome::Due | RunOutcome::Suggested)
    }
}

word_enum!(
    /// What a member may do in a workspace, from least to most (the order is the derived `Ord`).
    Role { Viewer => "viewer", Agent => "agent", Admin => "admin", Owner => "owner" }
);

word_enum!(
    /// What an API token may do: read, or read and write.
    Scope { Read => "read", Write => "write", Admin => "admin" }
);

impl Role {
    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "reads the inbox",
            Role::Agent => "replies, sets statuses and labels, assigns threads",
            Role::Admin => "also manages channels, rules and API tokens, and reads the audit log",
            Role::Owner => "also manages members",
        }
    }
}

impl Scope {
    /// The role a token acts with.
    pub fn role(self) -> Role {
        match self {
            Scope::Read => Role::Viewer,
            Scope::Write => Role::Agent,
            Scope::Admin => Role::Admin,
        }
    }
}

/// Why a name people give (a workspace's, a token's) is not acceptable, if it is not.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("must not be empty")
    } else if name.chars().count() > 100 {
        Some("must be at most 100 characters")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    }
}

impl Platform {
    pub fn label(self) -> &'static str {
        match self {
            Platform::Tiktok => "TikTok",
            Platform::Instagram => "Instagram",
            Platform::Facebook => "Facebook",
            Platform::Youtube => "YouTube",
            Platform::Custom => "Custom",
        }
    }

    /// The longest public comment reply the platform accepts, where it documents one.
    pub fn max_reply_chars(self) -> Option<usize> {
        match self {
            Platform::Tiktok => Some(150),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(*p));
        }
        assert!(
            "TikTok"
                .parse::<Platform>()
                .unwrap_err()
                .contains("tiktok, instagram")
        );
    }
}
