//! The `voice-server` binary: parses arguments and calls into the library.

fn main() -> std::process::ExitCode {
    voice_server::cli::main()
}
