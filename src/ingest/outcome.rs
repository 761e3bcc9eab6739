use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeStatus {
    Created,
    Duplicate,
}

/// What happened to one event of a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub index: usize,
    pub status: OutcomeStatus,
    /// `message`, `video_stats` or `channel_stats`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The stored row: a message, a video snapshot or a channel snapshot.
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<i64>,
}

impl Outcome {
    pub fn message(index: usize, status: OutcomeStatus, id: i64, thread_id: i64) -> Self {
        Outcome {
            index,
            status,
            kind: "message",
            id,
            thread_id: Some(thread_id),
        }
    }

    pub fn snapshot(index: usize, status: OutcomeStatus, kind: &'static str, id: i64) -> Self {
        Outcome {
            index,
            status,
            kind,
            id,
            thread_id: None,
        }
    }
}

/// The answer to a successful ingest request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    pub created: usize,
    pub duplicates: usize,
    pub results: Vec<Outcome>,
}

impl IngestReport {
    pub fn new(results: Vec<Outcome>) -> Self {
        let created = results
            .iter()
            .filter(|o| o.status == OutcomeStatus::Created)
            .count();
        IngestReport {
            created,
            duplicates: results.len() - created,
            results,
        }
    }
}
