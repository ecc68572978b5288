//! The `chatd` binary: parse the configuration, run the server, map failure to an exit
//! code with one clear line.

use std::process::ExitCode;

use chatd::config::{Cli, Command, Config, EXAMPLE_CONFIG};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    chatd::server::init_logging();
    match &cli.command {
        Some(Command::ExampleConfig) => {
            print!("{EXAMPLE_CONFIG}");
            return ExitCode::SUCCESS;
        }
        Some(Command::MigrateData { from, to }) => {
            return match chatd::server::migrate_data(from, to) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("chatd: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
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
