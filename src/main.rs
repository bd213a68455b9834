use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lobby::cli::Cli::parse();
    lobby::cli::run(cli)
}
