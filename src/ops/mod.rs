//! Operations: the metrics registry, logging set-up and serving connections with timeouts, graceful shutdown.

pub mod memory;
pub mod metrics;
pub mod server;
pub mod shutdown;
pub mod telemetry;
