#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ls_http::fuzzing::headers(data));
