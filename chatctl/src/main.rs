//! `chatctl`, the terminal client of chatd: parse the command line, run the command,
//! map the outcome to a documented exit code (see `exit_codes.rs`).

mod archive;
mod attach;
mod autostart;
mod cancel;
mod chat;
mod cli;
mod client;
mod completions;
mod config;
mod context;
mod conv;
mod daemon;
mod error;
mod exit_codes;
mod listing;
mod models;
mod output;
mod reconnect;
mod regenerate;
mod render;
mod reply;
mod reply_details;
mod search;
mod send;
mod status;
mod stdin;
mod user;
mod wait;
mod watch;

use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::client::{Autostart, Client};
use crate::config::Store;
use crate::context::Ctx;
use crate::output::Out;

fn main() -> std::process::ExitCode {
    // `COMPLETE=$SHELL chatctl …` is the shell asking for completions: answer, exit.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command).complete();
    let cli = Cli::parse();
    let outcome = run(cli);
    let code = match &outcome {
        Ok(()) => exit_codes::ExitCode::Success,
        Err(err) => {
            let verdict = error::classify(err);
            if verdict.report {
                let _ = writeln!(std::io::stderr().lock(), "chatctl: {err:#}");
            }
            verdict.code
        }
    };
    code.into()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Completions need neither a server nor a runtime.
    if let Command::Completions(args) = cli.command {
        return args.run();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(dispatch(cli));
    // A prompt may still be blocked reading the terminal on a blocking thread after
    // Ctrl-C; do not wait for it.
    runtime.shutdown_background();
    outcome
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let store = Store::load();
    // `status` answers "is the daemon up?", so it must not start one.
    // Nor do the daemon commands: `daemon start` starts one itself, with its own arguments.
    let autostart = if matches!(cli.command, Command::Status(_) | Command::Daemon(_)) {
        Autostart::NotForThisCommand
    } else if cli.global.no_autostart {
        Autostart::RefusedByFlag
    } else {
        Autostart::Allowed(store.remembered.daemon.chatd_args())
    };
    let client = Client::new(
        &cli.global.server,
        autostart,
        store.data_dir().map(Into::into),
    )?;
    let out = Out::new(cli.global.json, cli.global.raw);
    let mut ctx = Ctx::new(client, out, store, cli.global.user);
    match cli.command {
        Command::User(command) => command.run(&mut ctx).await,
        Command::Conv(command) => command.run(&mut ctx).await,
        Command::Chat(args) => args.run(&mut ctx).await,
        Command::Send(args) => args.run(&mut ctx).await,
        Command::Cancel(args) => args.run(&mut ctx).await,
        Command::Attach(args) => args.run(&mut ctx).await,
        Command::Regenerate(args) => args.run(&mut ctx).await,
        Command::Wait(args) => args.run(&mut ctx).await,
        Command::Watch(args) => args.run(&mut ctx).await,
        Command::Daemon(command) => command.run(&mut ctx).await,
        Command::Status(args) => args.run(&mut ctx).await,
        Command::Models(args) => args.run(&mut ctx).await,
        Command::Search(args) => args.run(&mut ctx).await,
        Command::Export(args) => args.run(&mut ctx).await,
        Command::Import(args) => args.run(&mut ctx).await,
        Command::Completions(args) => args.run(),
    }
}
