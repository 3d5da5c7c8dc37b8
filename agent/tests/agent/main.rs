//! Integration tests of greenlight-agent, one test binary: the agent runs
//! in-process against real servers on loopback.

mod aggregators;
mod face;
mod min_requests;
mod rediss;
mod stream;
mod test_aggregator;
