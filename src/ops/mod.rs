//! Operations: health, readiness, metrics, logging set-up and graceful shutdown.

pub mod health;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
