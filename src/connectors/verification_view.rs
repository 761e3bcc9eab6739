//! A channel's verification as the API and the page show it: whether the platform said the
//! channel's token is its account's, when, by which call, and what went wrong if not.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Verification;

/// A channel's verification as the API and the page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChannelVerification)]
pub struct VerificationView {
    pub state: Verification,
    /// The platform's id of the account the token answered for.
    pub account: Option<String>,
    pub account_name: Option<String>,
    /// The call that said so.
    pub via: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
}

impl VerificationView {
    /// A sentence for the channels page.
    pub fn sentence(&self) -> String {
        match self.state {
            Verification::Verified => format!(
                "Verified: the token answers for {}{}",
                self.account.as_deref().unwrap_or_default(),
                self.account_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            Verification::Pending => format!(
                "Not verified yet: receives nothing until the platform confirms the token ({})",
                self.problem.as_deref().unwrap_or("not asked yet")
            ),
            Verification::Refused => format!(
                "Not verified: receives nothing until a token of this account is saved ({})",
                self.problem.as_deref().unwrap_or("refused")
            ),
            Verification::Unverified => {
                "Not verified: no access token, so nothing arrives from the platform; \
                 the ingest API still works"
                    .to_owned()
            }
        }
    }
}
