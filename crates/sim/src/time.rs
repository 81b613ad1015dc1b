//! Simulated time: the unit every model and the SoC count in.
//!
//! Owns: [`Tick`]. Its own leaf module so that every other module, the models included, depends
//! on it without reaching back up to the crate root.

/// Simulated time, in microseconds since the SoC was built.
pub type Tick = u64;
