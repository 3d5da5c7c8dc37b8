//! `health_json`: see greenlight_fuzz_harness::health_json for the input and the promises checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenlight_fuzz_harness::health_json::run(data));
