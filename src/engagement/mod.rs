//! Engagement: ER per video from the statistics snapshots, organic ER without our own replies,
//! account figures against the 2025 benchmark bands, and how replies go with ER — measured
//! honestly (`formulas`, `compare`), read from the database without loading everything
//! (`read`). The formulas and bands are in `shared/design/engagement.md`.

pub mod compare;
pub mod formulas;
pub mod read;
