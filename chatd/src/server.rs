//! Start-up and shutdown: open the store, build the provider, bind, say where we listen,
//! serve, and on SIGINT/SIGTERM stop accepting, give replies in flight a bounded grace
//! period, store them, and exit. `docs/ARCHITECTURE.md` shows how the pieces started
//! here fit together.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ProviderKind, Switch};
use crate::providers::openai::OpenAiSettings;
use crate::providers::{EchoProvider, NamedProvider, OpenAiProvider, Provider, Providers};
use crate::replies::{RecoveryFile, Replies};
use crate::routes::guard::{Guard, TargetAuthority};
use crate::routes::{self, App, FrontDoor, RenderedMessages};
use crate::store::{Location, Store, StoreOptions};
use crate::titles::Titles;

/// How long open connections get to flush after the replies are stored.
const CONNECTION_DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Provider(String),
    #[error("could not use the token file {path}: {source}")]
    Token {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Logs go to stderr; `RUST_LOG` (or `CHATD_LOG`) picks the level, `info` by default.
pub fn init_logging() {
    let filter = std::env::var("CHATD_LOG")
        .ok()
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Every configured provider, by name, and the default one with its model (`echo` for
/// echo, which answers any name; `--model` otherwise).
fn build_providers(config: &Config) -> Result<Providers, ServeError> {
    let settings = &config.settings;
    let mut providers = Vec::with_capacity(config.providers.len());
    for entry in &config.providers {
        let provider = match entry.kind {
            ProviderKind::Echo => Provider::Echo(EchoProvider {
                token_delay: settings.echo_delay(),
            }),
            ProviderKind::Openai => Provider::OpenAi(
                OpenAiProvider::new(OpenAiSettings {
                    base_url: entry.base_url.clone(),
                    api_key: entry.api_key.clone(),
                    headers: entry.headers.clone(),
                    key_source: entry
                        .key_source
                        .clone()
                        .unwrap_or_else(|| format!("api_key_env in [providers.{}]", entry.name)),
                    connect_timeout: settings.connect_timeout(),
                    idle_timeout: settings.idle_timeout(),
                    max_event_bytes: settings.max_event_bytes,
                })
                .map_err(|e| ServeError::Provider(format!("provider {}: {e}", entry.name)))?,
            ),
        };
        providers.push(NamedProvider::new(
            entry.name.clone(),
            provider,
            entry.models.clone(),
        ));
    }
    let default_kind = config
        .providers
        .iter()
        .find(|p| p.name == config.default_provider)
        .map(|p| p.kind);
    let default_model = match default_kind {
        Some(ProviderKind::Echo) => "echo".to_string(),
        _ => settings.model.clone(),
    };
    Providers::new(providers, &config.default_provider, default_model).map_err(ServeError::Provider)
}

/// Where replies still unstored at exit are kept: next to a SQLite database, so they
/// stay with the data; for PostgreSQL, in chatd's data directory.
fn recovery_file_path(database: &Location) -> std::path::PathBuf {
    match database {
        Location::Sqlite(path) => {
            let mut name = path.as_os_str().to_owned();
            name.push(".unstored.jsonl");
            name.into()
        }
        Location::Postgres(_) => crate::config::data_dir()
            .unwrap_or_else(|| std::path::PathBuf::from("."))
            .join("unstored-replies.jsonl"),
    }
}

/// Where unstored replies go when their first place cannot be written (the full disk
/// that refused the reply usually holds that file too): the temporary directory, often
/// another file system, under a name derived from the database so the next start of
/// this database finds it, and no other's does.
fn fallback_recovery_path(database: &Location) -> std::path::PathBuf {
    let shown = database.to_string();
    let name: String = shown
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // The end of a long path tells databases apart better than its start.
    let name = &name[name.len().saturating_sub(120)..];
    std::env::temp_dir().join(format!("chatd-unstored-{name}.jsonl"))
}

/// Connections the kernel may hold for chatd before it accepts them; Linux caps it at
/// `net.core.somaxconn`. tokio's default (1024) overflowed when thousands of clients
/// connected within a second: the kernel drops the SYNs past it and the client
/// retries one to three seconds later, which showed as seconds of "time to first
/// token" in the benchmark.
const LISTEN_BACKLOG: u32 = 65_535;

fn bind_listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's `TcpListener::bind` does on Unix: a restarted chatd can bind its port
    // while the last run's connections are in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

pub fn run(config: Config) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(serve(config))
}

/// Fills, in the background, the path hashes of messages stored before chatd kept them
/// (the front door's look-up by history, `store/paths.rs`); a database that refuses the
/// writes now is filled at the next start.
fn spawn_path_hash_fill(store: Store) {
    // 200 conversations a batch: enough rounds for any database chatd serves.
    const ROUNDS: usize = 1_000_000;
    tokio::spawn(async move {
        match store.fill_path_hashes(ROUNDS).await {
            Ok(0) => {}
            Ok(filled) => tracing::info!("filled the path hashes of {filled} conversations"),
            Err(e) => tracing::warn!("could not fill the path hashes of older messages: {e}"),
        }
    });
}

async fn serve(config: Config) -> Result<(), ServeError> {
    let settings = &config.settings;
    let connections = settings.db_pool_size.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() as u32 * 2)
            .unwrap_or(4)
            .clamp(4, 16)
    });
    let database = config.database.clone();
    let options = StoreOptions {
        connections,
        synchronous_commit: settings.postgres_synchronous_commit == Switch::On,
        // One knob for the caches of stored messages: the paths cost about one id per
        // message where the rendered JSON and the histories' texts cost their text.
        known_paths_bytes: settings.rendered_cache_bytes() / 2,
        known_texts_bytes: settings.rendered_cache_bytes() / 2,
    };
    let store = tokio::task::spawn_blocking(move || Store::open_with(&database, &options))
        .await
        .map_err(|e| ServeError::Provider(format!("start-up task failed: {e}")))??;
    if let Some(language) = settings.search_language.clone() {
        match &config.database {
            Location::Postgres(_) => {
                tracing::info!("search language {language}: checking the index");
                if store.set_search_language(language.clone()).await? {
                    tracing::warn!("re-indexed every message for the search language {language}");
                }
            }
            Location::Sqlite(_) => {
                tracing::debug!("search_language {language} ignored: SQLite's index has none")
            }
        }
    }
    let providers = Arc::new(build_providers(&config)?);
    let replies = Replies::new(
        store.clone(),
        providers.clone(),
        settings.system_prompt.clone(),
        settings.max_replies,
        i64::from(settings.history_limit),
        RecoveryFile::new(recovery_file_path(&config.database))
            .or_else_at(fallback_recovery_path(&config.database)),
    )
    .with_titles(Titles::new(
        settings.titles,
        store.clone(),
        providers.clone(),
        settings.title_model.clone(),
    ));
    // Replies kept whole first, then the leases of replies cut off mid-way: a kept reply
    // then lands with its full text rather than its last checkpoint.
    match replies.recover_unstored().await {
        Ok((0, 0)) => {}
        Ok((stored, waiting)) => tracing::warn!(
            "stored {stored} replies that the last run could not store; {waiting} still wait \
             for the database"
        ),
        Err(e) => tracing::error!(
            "could not read the replies the last run kept in {}: {e}",
            recovery_file_path(&config.database).display()
        ),
    }
    // Not fatal: a database that takes no writes now (a full disk) is answered per
    // request with what to do, and these leases are taken over on the next chat.
    match replies.recover_interrupted().await {
        Ok(0) => {}
        Ok(recovered) => tracing::warn!(
            "stored {recovered} replies that the last run was cut off in, marked interrupted"
        ),
        Err(e) => tracing::error!("could not recover the replies the last run was cut off in: {e}"),
    }
    let events = crate::events::Feed::new(settings.events_buffer as usize);
    let replies = replies.with_feed(events.clone());
    let replies = match &config.database {
        Location::Postgres(url) => replies
            .with_relay(url)
            .map_err(|e| ServeError::Provider(format!("the relay between processes: {e}")))?,
        Location::Sqlite(_) => replies,
    };
    if let Some((listener, me)) = replies.relay_listener() {
        events.relay_through(listener, me);
    }
    replies.spawn_checkpointer(settings.checkpoint_interval());
    spawn_path_hash_fill(store.clone());
    let loopback = settings.listen.ip().is_loopback();
    let token = if loopback {
        None
    } else {
        Some(load_or_create_token(&config.token_file)?)
    };
    let guard = Guard {
        allowed_hosts: loopback.then(|| settings.allowed_hosts.clone()),
        cors_origins: config.cors_origins.clone(),
        token,
    };
    let app = App {
        store: store.clone(),
        replies: replies.clone(),
        providers: providers.clone(),
        guard,
        rendered: Arc::new(RenderedMessages::with_budget(
            settings.rendered_cache_bytes(),
        )),
        front_door: (settings.front_door == Switch::On).then(|| FrontDoor {
            default_user: settings.default_user.clone(),
        }),
        keys: Arc::default(),
        default_user: settings.default_user.clone(),
        events,
    };

    let listener = bind_listener(settings.listen).map_err(|source| ServeError::Bind {
        addr: settings.listen,
        source,
    })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: settings.listen,
        source,
    })?;

    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone())?;
    crate::memory::spawn_trimmer(shutdown.clone());
    announce(&config, &providers, &store, local);

    let service = warp::service(routes::api(app));
    // HTTP/1.1 only: hyper-util's auto-detection of HTTP/2 reads the first bytes with
    // no timeout at all, which is exactly what an idle or hostile client exploits.
    let mut connections = hyper::server::conn::http1::Builder::new();
    connections
        .timer(TokioTimer::new())
        // Also bounds how long an idle keep-alive connection is kept: hyper starts this
        // timer whenever it waits for a request head.
        .header_read_timeout(settings.idle_connection_timeout());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("could not accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let warp_service = TowerToHyperService::new(service.clone());
        let hyper_service = service_fn(move |mut request: Request<Incoming>| {
            // warp shows its filters the path of the target, not its authority.
            if let Some(authority) = request.uri().authority().cloned() {
                request.extensions_mut().insert(TargetAuthority(authority));
            }
            warp_service.call(request)
        });
        let connection = connections.serve_connection(TokioIo::new(stream), hyper_service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections");
    replies.drain(settings.shutdown_grace()).await;
    // Streams end once their reply is stored; a client that stopped reading must not
    // keep the process alive.
    if tokio::time::timeout(CONNECTION_DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("closing connections that did not finish in time");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The start-up lines. The first goes to stdout, flushed, so scripts and tests can read
/// the address (including an ephemeral port) from it; the rest are logs on stderr.
fn announce(config: &Config, providers: &Providers, store: &Store, local: std::net::SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "chatd listening on http://{local}{}",
        common::API_BASE
    );
    let _ = stdout.flush();
    tracing::info!("web chat: http://{local}/");
    tracing::info!(
        "database: {} ({})",
        store.location(),
        store.location().backend()
    );
    for entry in &config.providers {
        let default = if entry.name == config.default_provider {
            format!(", the default, model {}", providers.default_model())
        } else {
            String::new()
        };
        match entry.kind {
            ProviderKind::Echo if config.provider_defaulted && config.providers.len() == 1 => {
                tracing::info!(
                    "provider: echo (the default: no provider is configured; \
                     use --provider openai to talk to a model)"
                )
            }
            ProviderKind::Echo => tracing::info!("provider {}: echo{default}", entry.name),
            ProviderKind::Openai => tracing::info!(
                "provider {}: openai at {}{default}{}",
                entry.name,
                entry.base_url,
                match (&entry.api_key, &entry.key_source) {
                    (None, Some(source)) => format!(" (no API key set; it is read from {source})"),
                    _ => String::new(),
                }
            ),
        }
    }
    if !config.settings.listen.ip().is_loopback() {
        tracing::warn!(
            "listening beyond loopback: every request needs the bearer token in {}",
            config.token_file.display()
        );
    }
    if let Some(path) = &config.config_file {
        tracing::info!("configuration: {}", path.display());
    }
}

/// Reads the bearer token, creating it on first use: 32 random bytes as hex, in a file
/// only the user can read.
pub fn load_or_create_token(path: &std::path::Path) -> Result<String, ServeError> {
    let fail = |source| ServeError::Token {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the file is empty; delete it to have a new token made",
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    let token = crate::hex(&bytes);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(token.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    tracing::info!("created a new bearer token in {}", path.display());
    Ok(token)
}

/// Installs the SIGINT/SIGTERM handlers now, before chatd says it listens, so that a
/// signal sent right after the start-up line is never met by the default action (an
/// immediate exit that would skip the graceful shutdown); cancels `shutdown` on either.
fn watch_signals(shutdown: CancellationToken) -> Result<(), ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let watch = |kind| {
            signal(kind).map_err(|e| ServeError::Provider(format!("cannot watch signals: {e}")))
        };
        let mut interrupt = watch(SignalKind::interrupt())?;
        let mut terminate = watch(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    Ok(())
}

/// Rows copied per transaction by `migrate-data`.
const COPY_BATCH: i64 = 5_000;

/// `chatd migrate-data`: copies every row from one database into another, empty, one,
/// table by table (parents first) and keeping ids, then checks the counts agree.
pub fn migrate_data(from: &str, to: &str) -> Result<String, ServeError> {
    use crate::store::{Location, Table};
    let from = Location::parse(from).map_err(ServeError::Provider)?;
    let to = Location::parse(to).map_err(ServeError::Provider)?;
    if from == to {
        return Err(ServeError::Provider(
            "--from and --to name the same database".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let open = |location: Location| async move {
            tokio::task::spawn_blocking(move || Store::open(&location, 2))
                .await
                .map_err(|e| ServeError::Provider(format!("opening a database failed: {e}")))?
                .map_err(ServeError::from)
        };
        let source = open(from.clone()).await?;
        let target = open(to.clone()).await?;
        if target.counts().await? != (0, 0, 0) {
            return Err(ServeError::Provider(format!(
                "{to} already holds data; migrate-data only fills an empty database"
            )));
        }
        for table in [Table::Users, Table::Conversations, Table::Messages] {
            let mut after = 0;
            loop {
                let batch = source.export_batch(table, after, COPY_BATCH).await?;
                let Some(last) = batch.last_id() else { break };
                after = last;
                target.import_batch(batch).await?;
            }
        }
        let (copied, expected) = (target.counts().await?, source.counts().await?);
        if copied != expected {
            return Err(ServeError::Provider(format!(
                "the copy holds {copied:?} rows (users, conversations, messages) but the \
                 source holds {expected:?}"
            )));
        }
        Ok(format!(
            "copied {} users, {} conversations and {} messages from {from} to {to}",
            copied.0, copied.1, copied.2
        ))
    })
}
