//! Typed ids: a thread id cannot be passed where a message id is wanted. Each wraps the
//! database's `BIGINT` and reads, binds and serialises as that number.

use std::fmt;

/// Declares an id type over `i64`.
macro_rules! decl_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for crate::storage::Arg {
            fn from(id: $name) -> Self {
                crate::storage::Arg::Int(id.0)
            }
        }

        impl From<Option<$name>> for crate::storage::Arg {
            fn from(id: Option<$name>) -> Self {
                crate::storage::Arg::OptInt(id.map(|id| id.0))
            }
        }
    )+};
}

decl_id!(
    /// A conversation: a comment with its replies, or a DM conversation.
    ThreadId,
    /// One comment or DM, inbound or outbound.
    MessageId,
    /// A connected account on a platform.
    ChannelId,
    /// A tenant: its members, channels, rules and everything they hold.
    WorkspaceId,
    /// A person who signs in.
    UserId,
    /// A reply rule.
    RuleId,
    /// One decision of a rule about one message (`rule_runs`).
    RunId,
    /// A video or post, whose comments and figures are kept.
    VideoId,
    /// A person on a platform, as a channel knows them.
    ContactId,
    /// One call queued for a platform (`outbox`).
    OutboxId,
    /// An API token.
    TokenId,
);
