//! Engine tests: (time, event) in, verdicts and actions out. Time is moved
//! by hand, so every test is deterministic.

mod corpus;
mod edge_details;
mod edges;
mod gates;
mod lifecycle;
mod phase_entries;
mod readiness;
mod rollback_target;
mod scenarios;
mod sim;
mod stories;
mod words;
