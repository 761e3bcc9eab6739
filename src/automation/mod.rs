//! Rules acting: deciding, in the transaction that stores a message, which rules fire and what
//! each will do (`decide`, with its `safeguards`, the batch's `ledger` and `variants`), as
//! durable rows (`runs`); acting on them when they fall due (`due`); suggestions a person
//! approves or rejects (`suggestions`); trying a rule on stored messages (`backtest`) and the
//! safeguards on a pasted one (`verdicts`); what each rule did (`stats`); and the workspace's
//! switch that pauses it all (`pause`).

mod act;
pub mod backtest;
mod book;
mod decide;
pub mod due;
mod error;
mod hourly;
mod ledger;
pub mod pause;
mod runs;
mod safeguards;
pub mod stats;
pub mod suggestions;
mod turns;
mod variants;
pub mod verdicts;

pub use book::RuleBooks;
pub use decide::{Arrival, Decided, decide};
pub use error::AutomationError;
