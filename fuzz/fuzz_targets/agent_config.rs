//! `agent_config`: see greenlight_fuzz_harness::agent_config for the input and the promises checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenlight_fuzz_harness::agent_config::run(data));
