//! Issue 10: hostile input from a raw client (not the agent) against a
//! running aggregator, while a real agent's verdict keeps updating and is
//! unchanged.
//! - `table`: every row of docs/protocol.md's table, refused or clamped as
//!   it says.
//! - `stream_limits`: a 10 MB report (a clear RESOURCE_EXHAUSTED, memory
//!   bounded while a client sends them for 30 s) and a flooding stream
//!   (refused, typed).
//! - `flood_delay`: one agent at 10x (and 100x) the normal report rate; the
//!   other agents' reports are evaluated as promptly as without it;
//!   `flood_figures`: what its run recorded, and the table it prints.
//! - `support`: the raw stream, honest reports, and the real agent.

mod flood_delay;
mod flood_figures;
mod stream_limits;
pub mod support;
mod table;
