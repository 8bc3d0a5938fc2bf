//! Arbitrary client bytes through the streaming command decoder: it must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_proto::fuzzing::decode_commands(data));
