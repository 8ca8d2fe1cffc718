//! Load-balancing client and voice pipeline.

pub mod lb;
pub use lb::{LbConfig, LbError, LbEvent, LoadBalancingClient, PolledClient};
