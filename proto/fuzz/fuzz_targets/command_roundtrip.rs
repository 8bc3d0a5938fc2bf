//! Every command the decoder accepts, written back and decoded again, must be the same command.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_proto::fuzzing::command_roundtrip(data));
