//! Operations: health, readiness, metrics, logging set-up and serving connections with timeouts, graceful shutdown.

pub mod health;
pub mod metrics;
pub mod server;
pub mod shutdown;
pub mod telemetry;
