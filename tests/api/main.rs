//! The integration tests, in one binary (each test binary links the whole crate, which costs
//! minutes on two cores). Every test gets its own database and talks to the real server over
//! real HTTP; most run on SQLite and on PostgreSQL (`on_both_backends!`).

#[macro_use]
mod common;

mod access;
mod automation;
mod backoff;
mod browser;
mod browser_channel_filter;
mod browser_engagement;
mod browser_limits;
mod browser_live;
mod browser_outbox;
mod browser_rules;
mod channel_filter;
mod channels;
mod cli;
mod contact_names;
mod crash;
mod demo;
mod doubt;
mod durability;
mod edge;
mod engagement;
mod expired;
mod faults;
mod first_message;
mod hostile_rules;
mod inbox_api;
mod ingest;
mod ingest_writers;
mod languages;
mod layout;
mod ledger;
mod limits;
mod live_streams;
mod meta_deliveries;
mod names;
mod openapi;
mod ops;
mod outbox;
mod outbox_held;
mod outbox_rows;
mod own_messages;
mod ownership;
mod pages;
mod polling;
mod properties;
mod rules;
mod search_plans;
mod setup;
mod sign_in;
mod summaries;
mod tiktok;
mod webhook_properties;
mod webhooks;
mod workspace_admin;
