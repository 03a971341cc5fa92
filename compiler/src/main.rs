//! The `asplitc` binary: a thin wrapper over [`asplitc::cli::main`].

fn main() -> std::process::ExitCode {
    asplitc::cli::main(std::env::args_os())
}
