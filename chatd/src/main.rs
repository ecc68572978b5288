//! The `chatd` binary: parse the configuration, run the server, map failure to an exit
//! code with one clear line.

use std::process::ExitCode;

use chatd::config::{Cli, Command, Config, EXAMPLE_CONFIG};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ExampleConfig) = cli.command {
        print!("{EXAMPLE_CONFIG}");
        return ExitCode::SUCCESS;
    }
    chatd::server::init_logging();
    let config = match Config::resolve(&cli, |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("chatd: {e}");
            return ExitCode::from(2);
        }
    };
    match chatd::server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd: {e}");
            ExitCode::FAILURE
        }
    }
}
