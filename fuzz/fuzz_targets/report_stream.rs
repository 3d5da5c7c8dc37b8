//! `report_stream`: see greenlight_fuzz_harness::report_stream for the input and the promises checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenlight_fuzz_harness::report_stream::run(data));
