//! The `voice-server` binary: parses arguments and calls into the library.

fn main() {}
