//! `prometheus_intake`: see greenlight_fuzz_harness::prometheus_intake for the input and the promises checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenlight_fuzz_harness::prometheus_intake::run(data));
