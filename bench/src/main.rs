//! `chatd-bench`: measures the release chatd against this machine's limit and prints
//! one Markdown table of figures, goals and verdicts (issue 5). Run it with
//! `cargo run --release -p chatd-bench`; it builds chatd and chatctl in release mode
//! itself, seeds temporary databases, starts every server as a child process on
//! 127.0.0.1 and removes everything when done. `--quick` runs a shorter smoke version
//! whose figures are not the goals' figures; `--repeat N` runs everything N times and
//! prints each figure's median and range; `--postgres URL` / `--no-postgres` choose the
//! PostgreSQL server of the PostgreSQL scenario (by default the local one, skipped with a
//! line saying why when it does not answer).
//!
//! The same executable also plays the helper servers, so that each runs in its own
//! process like chatd: `chatd-bench upstream TOKENS DELAY_MS` (the fake OpenAI-compatible
//! provider) and `chatd-bench reference DIR` (the in-memory warp server). The `seed`,
//! `rest` and `streams` subcommands run one scenario against a chatd started by hand,
//! for profiling; `search` runs the search scenario alone (on SQLite or PostgreSQL),
//! `memory` the slow-clients memory scenario alone (against any chatd binary),
//! `postgres` the PostgreSQL scenario alone.
//! `relay` the relay between two processes on PostgreSQL.
//!
//! This file is the command line; `scenarios/` holds what is measured, `harness` the
//! surroundings of a run (building, the machine, progress lines).

mod by_hand;
mod harness;
mod load;
mod pg_server;
mod pg_wire;
mod process;
mod reference;
mod report;
mod scenarios;
mod seed;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use scenarios::{FULL, Options, QUICK};

/// The PostgreSQL server tried when no `--postgres` is given.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Benchmarks of chatd against this machine's limit. With no subcommand: every scenario,
/// then one Markdown table (run it with `cargo run --release -p chatd-bench`).
#[derive(Debug, Parser)]
#[command(name = "chatd-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    /// A short smoke run; its figures are not the goals' figures.
    #[arg(long)]
    quick: bool,
    /// Runs everything N times; each figure is then the median of the runs with their
    /// range.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
    /// The PostgreSQL server of the PostgreSQL scenario (a database of the harness's own
    /// is created and dropped there).
    #[arg(long, value_name = "URL", default_value = DEFAULT_POSTGRES,
          conflicts_with = "no_postgres")]
    postgres: String,
    /// Leaves the PostgreSQL scenario out.
    #[arg(long)]
    no_postgres: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the benchmark database, for a chatd run by hand.
    Seed {
        /// The SQLite file to create.
        db: PathBuf,
        /// Conversations added after the bench user's ten (ids 11 onwards).
        #[arg(default_value_t = 10_000)]
        conversations: i64,
        /// Messages in each added conversation.
        #[arg(default_value_t = 0)]
        messages_each: i64,
    },
    /// One REST load (64 connections) against a running server.
    Rest {
        /// Where the server listens (127.0.0.1:PORT).
        addr: SocketAddr,
        /// The path to GET, e.g. /api/v1/conversations/1.
        path: String,
        #[arg(default_value_t = 4)]
        seconds: u64,
    },
    /// Concurrent `POST /chat` streams on conversations 11 onwards (seeded by `seed`),
    /// one each, against a running chatd.
    Streams {
        /// Where chatd listens (127.0.0.1:PORT).
        addr: SocketAddr,
        /// How many streams.
        streams: i64,
        /// Over how long they are started.
        #[arg(default_value_t = 1000)]
        ramp_ms: u64,
    },
    /// The fake OpenAI-compatible upstream (prints `listening PORT`).
    Upstream {
        /// Content chunks per answer.
        #[arg(default_value_t = 20)]
        tokens: usize,
        /// Delay between chunks.
        #[arg(default_value_t = 0)]
        delay_ms: u64,
        /// Letters of content in each chunk (0: `tok`).
        #[arg(default_value_t = 0)]
        content_bytes: usize,
    },
    /// Only the OpenAI front door's history match at 1,000,000 messages, then its table.
    FrontDoor,
    /// The in-memory warp reference serving the answers kept in DIR (prints
    /// `listening PORT`).
    Reference { dir: PathBuf },
    /// The relay scenario alone: two chatd processes on this PostgreSQL server (a
    /// database of its own is created and dropped there), the latency a token gains
    /// reaching a client on the other process.
    Relay {
        #[arg(long, value_name = "URL")]
        postgres: String,
    },
    /// Only the memory scenario: clients that never read 200 kB replies, then close.
    Memory {
        /// Measure this chatd binary instead of the release build (e.g. an older one).
        #[arg(long, value_name = "PATH")]
        chatd: Option<PathBuf>,
    },
    /// Only the PostgreSQL scenario (no SQLite figures to compare with: its shares are
    /// left out), e.g. to try server settings through `PGOPTIONS`.
    Postgres {
        /// The server (a database of the harness's own is created and dropped there).
        #[arg(long, value_name = "URL", default_value = DEFAULT_POSTGRES)]
        postgres: String,
    },
    /// The search scenario alone: seeds a million messages, searches them, prints the
    /// table.
    Search {
        /// Run it on this PostgreSQL server (a database of its own is created and
        /// dropped there) instead of a temporary SQLite file.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Messages in each of the 10,000 conversations.
        #[arg(long, default_value_t = 100)]
        messages_each: i64,
    },
}

fn main() -> ExitCode {
    // Before anything can rebuild this executable (see `own_executable`).
    let _ = process::own_executable();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Upstream {
            tokens,
            delay_ms,
            content_bytes,
        }) => runtime(1).and_then(|rt| {
            rt.block_on(upstream::serve(
                tokens,
                Duration::from_millis(delay_ms),
                content_bytes,
            ))
        }),
        Some(Command::Memory { chatd }) => {
            runtime(0).and_then(|rt| rt.block_on(scenarios::memory_only(chatd)))
        }
        Some(Command::Postgres { postgres }) => {
            runtime(0).and_then(|rt| rt.block_on(scenarios::postgres_only(postgres)))
        }
        Some(Command::FrontDoor) => {
            runtime(0).and_then(|rt| rt.block_on(scenarios::front_door_only()))
        }
        Some(Command::Reference { dir }) => {
            runtime(0).and_then(|rt| rt.block_on(reference::serve(&dir)))
        }
        Some(Command::Seed {
            db,
            conversations,
            messages_each,
        }) => by_hand::seed(&db, conversations, messages_each),
        Some(Command::Rest {
            addr,
            path,
            seconds,
        }) => runtime(0).and_then(|rt| rt.block_on(by_hand::rest(addr, &path, seconds))),
        Some(Command::Search {
            postgres,
            messages_each,
        }) => runtime(0).and_then(|rt| rt.block_on(by_hand::search(postgres, messages_each))),
        Some(Command::Relay { postgres }) => {
            runtime(0).and_then(|rt| rt.block_on(by_hand::relay(&postgres)))
        }
        Some(Command::Streams {
            addr,
            streams,
            ramp_ms,
        }) => runtime(0).and_then(|rt| rt.block_on(by_hand::streams(addr, streams, ramp_ms))),
        None => {
            let plan = if cli.quick { QUICK } else { FULL };
            let options = Options {
                repeat: cli.repeat as usize,
                postgres: (!cli.no_postgres).then_some(cli.postgres),
            };
            runtime(0).and_then(|rt| rt.block_on(scenarios::run(plan, options)))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `workers` 0 means one per core, as chatd itself runs.
fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    Ok(builder.enable_all().build()?)
}
