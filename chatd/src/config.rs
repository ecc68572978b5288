//! chatd's configuration in layers: built-in defaults, then the optional TOML file in the
//! user's config directory, then `CHATD_…` environment variables, then flags (clap
//! resolves the last two). The example file is embedded so `chatd example-config` prints
//! exactly the defaults the code uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::routes::guard::{DEFAULT_CORS_ORIGINS, OriginPattern};
use crate::store::Location;

/// The commented example configuration, printed by `chatd example-config`.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 120;
/// One event of the provider's stream: a few hundred bytes per token in practice, so
/// this is far above any real one and bounds what a runaway stream costs.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
pub const DEFAULT_MAX_REPLIES: usize = 1024;
pub const DEFAULT_CHECKPOINT_INTERVAL_MS: u64 = 1000;
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_RENDERED_CACHE_MB: u64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Offline: answers with the user's own message, word by word.
    Echo,
    /// Any OpenAI-compatible /chat/completions endpoint (OpenAI, Ollama, llama.cpp, vLLM).
    Openai,
}

/// chatd: a local chat daemon serving the chat API over SQLite.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on [default: 127.0.0.1:8000]
    #[arg(long, env = "CHATD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Allow listening on an address other than loopback (the API has no authentication)
    #[arg(long, env = "CHATD_ALLOW_NON_LOOPBACK")]
    pub allow_non_loopback: bool,

    /// Database: a SQLite file (a path or sqlite:// URL) or a postgres:// URL [default: chatd.db in the user's data directory]
    #[arg(long, env = "CHATD_DATABASE", value_name = "PATH")]
    pub database: Option<String>,

    /// Where replies come from [default: echo]
    #[arg(long, env = "CHATD_PROVIDER", value_enum)]
    pub provider: Option<ProviderKind>,

    /// Base URL of the OpenAI-compatible API [default: https://api.openai.com/v1]
    #[arg(long, env = "CHATD_OPENAI_BASE_URL", value_name = "URL")]
    pub openai_base_url: Option<String>,

    /// Model name sent to the provider [default: gpt-4o-mini]
    #[arg(long, env = "CHATD_MODEL")]
    pub model: Option<String>,

    /// System prompt sent before every conversation's history
    #[arg(long, env = "CHATD_SYSTEM_PROMPT", value_name = "TEXT")]
    pub system_prompt: Option<String>,

    /// How many past messages go to the provider with a new one [default: 50]
    #[arg(long, env = "CHATD_HISTORY_LIMIT", value_name = "N")]
    pub history_limit: Option<u32>,

    /// Delay between two tokens of the echo provider, in milliseconds [default: 0]
    #[arg(long, env = "CHATD_ECHO_DELAY_MS", value_name = "MS")]
    pub echo_delay_ms: Option<u64>,

    /// How long connecting to the provider may take, in seconds [default: 10]
    #[arg(long, env = "CHATD_CONNECT_TIMEOUT_SECS", value_name = "SECS")]
    pub connect_timeout_secs: Option<u64>,

    /// How long the provider may stay silent before a reply fails, in seconds [default: 120]
    #[arg(long, env = "CHATD_IDLE_TIMEOUT_SECS", value_name = "SECS")]
    pub idle_timeout_secs: Option<u64>,

    /// The largest event accepted from the provider's stream, in bytes; a reply whose provider sends a larger one fails [default: 1048576 (1 MiB)]
    #[arg(long, env = "CHATD_MAX_EVENT_BYTES", value_name = "BYTES")]
    pub max_event_bytes: Option<usize>,

    /// How long replies in flight may take to finish at shutdown, in seconds [default: 10]
    #[arg(long, env = "CHATD_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,

    /// Extra host names the daemon answers to on a loopback bind (DNS-rebinding guard)
    #[arg(
        long = "allowed-host",
        env = "CHATD_ALLOWED_HOSTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Origins whose web pages may call the API, e.g. https://chat.example.com or
    /// http://localhost:* [default: http://localhost:*, http://127.0.0.1:*, http://[::1]:*]
    #[arg(
        long = "cors-origin",
        env = "CHATD_CORS_ORIGINS",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Bearer token file for non-loopback binds, created on first use [default: token in the user's data directory]
    #[arg(long, env = "CHATD_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Replies that may be generated at once; more chats get a 503 [default: 1024]
    #[arg(long, env = "CHATD_MAX_REPLIES", value_name = "N")]
    pub max_replies: Option<usize>,

    /// How often replies in flight are checkpointed to the database, in milliseconds; 0 turns it off [default: 1000]
    #[arg(long, env = "CHATD_CHECKPOINT_INTERVAL_MS", value_name = "MS")]
    pub checkpoint_interval_ms: Option<u64>,

    /// Seconds a connection may sit idle (or take sending a request head) before it is closed [default: 30]
    #[arg(long, env = "CHATD_IDLE_CONNECTION_TIMEOUT_SECS", value_name = "SECS")]
    pub idle_connection_timeout_secs: Option<u64>,

    /// Database connections: PostgreSQL's pool; on SQLite, read connections kept open (reads run on the asking thread, writes on one writer thread) [default: twice the cores, 4 to 16]
    #[arg(long, env = "CHATD_DB_POOL_SIZE", value_name = "N")]
    pub db_pool_size: Option<u32>,

    /// Megabytes of messages kept rendered as JSON for conversation reads; 0 turns it off [default: 8]
    #[arg(long, env = "CHATD_RENDERED_CACHE_MB", value_name = "MB")]
    pub rendered_cache_mb: Option<u64>,

    /// Configuration file [default: config.toml in the user's config directory, if present]
    #[arg(long, env = "CHATD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a commented example configuration file
    ExampleConfig,
    /// Copy every user, conversation and message from one database into another, empty,
    /// one (e.g. from the SQLite file into PostgreSQL), keeping ids
    MigrateData {
        /// The database to read: a SQLite path or sqlite:// URL, or a postgres:// URL
        #[arg(long, value_name = "DATABASE")]
        from: String,
        /// The database to fill; created and migrated if needed, and must hold no rows
        #[arg(long, value_name = "DATABASE")]
        to: String,
    },
}

/// The keys of the TOML file; each one mirrors a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub allow_non_loopback: Option<bool>,
    pub database: Option<String>,
    pub provider: Option<ProviderKind>,
    pub openai_base_url: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub history_limit: Option<u32>,
    pub echo_delay_ms: Option<u64>,
    pub connect_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_event_bytes: Option<usize>,
    pub shutdown_grace_secs: Option<u64>,
    pub allowed_hosts: Option<Vec<String>>,
    pub cors_origins: Option<Vec<String>>,
    pub token_file: Option<PathBuf>,
    pub max_replies: Option<usize>,
    pub checkpoint_interval_ms: Option<u64>,
    pub idle_connection_timeout_secs: Option<u64>,
    pub db_pool_size: Option<u32>,
    pub rendered_cache_mb: Option<u64>,
}

/// The settings chatd runs with.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: Location,
    pub provider: ProviderKind,
    /// True when no layer named a provider, so start-up can say echo is the default.
    pub provider_defaulted: bool,
    pub openai_base_url: String,
    pub model: String,
    /// From `CHATD_OPENAI_API_KEY`, else `OPENAI_API_KEY`; never printed.
    pub api_key: Option<String>,
    pub system_prompt: Option<String>,
    pub history_limit: u32,
    pub echo_delay: Duration,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_event_bytes: usize,
    pub shutdown_grace: Duration,
    pub allowed_hosts: Vec<String>,
    pub cors_origins: Vec<OriginPattern>,
    /// Where the bearer token lives; used on non-loopback binds only.
    pub token_file: PathBuf,
    pub max_replies: usize,
    /// Zero when checkpoints are off.
    pub checkpoint_interval: Duration,
    pub idle_connection_timeout: Duration,
    pub db_pool_size: Option<u32>,
    /// Bytes of rendered messages kept for conversation reads; zero when off.
    pub rendered_cache_bytes: usize,
    /// The file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("provider", &self.provider)
            .field("openai_base_url", &self.openai_base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("history_limit", &self.history_limit)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "refusing to listen on {0}: the API has no authentication, so chatd listens on loopback \
         only; pass --allow-non-loopback (or CHATD_ALLOW_NON_LOOPBACK=true) if you mean it"
    )]
    NonLoopback(SocketAddr),
    #[error(
        "no database location given and no data directory could be found for this user; \
         pass --database PATH"
    )]
    NoDataDir,
    #[error("{0}")]
    Invalid(String),
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "chatd")
}

/// The config file read when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.config_dir().join("config.toml"))
}

/// The bearer token file used when none is configured.
pub fn default_token_path() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().join("token"))
}

/// The database file used when none is configured.
pub fn default_database_path() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().join("chatd.db"))
}

fn read_file(path: &Path, required: bool) -> Result<Option<FileConfig>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })
}

impl Config {
    /// Merges the layers. `env_key` reads an environment variable (injected for tests).
    pub fn resolve(
        cli: &Cli,
        env_key: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (file, config_file) = match &cli.config {
            Some(path) => (read_file(path, true)?, Some(path.clone())),
            None => match default_config_path() {
                Some(path) => {
                    let file = read_file(&path, false)?;
                    let found = file.is_some().then_some(path);
                    (file, found)
                }
                None => (None, None),
            },
        };
        let file = file.unwrap_or_default();

        let listen = match cli.listen.or(file.listen) {
            Some(addr) => addr,
            None => DEFAULT_LISTEN
                .parse()
                .map_err(|_| ConfigError::Invalid("bad built-in listen address".into()))?,
        };
        let allow_non_loopback = cli.allow_non_loopback || file.allow_non_loopback.unwrap_or(false);
        if !listen.ip().is_loopback() && !allow_non_loopback {
            return Err(ConfigError::NonLoopback(listen));
        }
        let database = match cli.database.as_ref().or(file.database.as_ref()) {
            Some(value) => Location::parse(value).map_err(ConfigError::Invalid)?,
            None => Location::Sqlite(default_database_path().ok_or(ConfigError::NoDataDir)?),
        };
        let named_provider = cli.provider.or(file.provider);
        let provider = named_provider.unwrap_or(ProviderKind::Echo);
        let model = cli
            .model
            .clone()
            .or(file.model)
            .unwrap_or_else(|| match provider {
                ProviderKind::Echo => "echo".into(),
                ProviderKind::Openai => DEFAULT_OPENAI_MODEL.into(),
            });
        let api_key = env_key("CHATD_OPENAI_API_KEY")
            .filter(|k| !k.is_empty())
            .or_else(|| env_key("OPENAI_API_KEY").filter(|k| !k.is_empty()));
        let history_limit = cli
            .history_limit
            .or(file.history_limit)
            .unwrap_or(DEFAULT_HISTORY_LIMIT);
        if history_limit == 0 {
            return Err(ConfigError::Invalid(
                "history_limit must be at least 1 (the new message itself)".into(),
            ));
        }
        let cors_origins = match (cli.cors_origins.is_empty(), file.cors_origins) {
            (false, _) => cli.cors_origins.clone(),
            (true, Some(origins)) => origins,
            (true, None) => DEFAULT_CORS_ORIGINS.iter().map(|o| o.to_string()).collect(),
        };
        let cors_origins = cors_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| OriginPattern::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ConfigError::Invalid)?;
        let allowed_hosts = if cli.allowed_hosts.is_empty() {
            file.allowed_hosts.unwrap_or_default()
        } else {
            cli.allowed_hosts.clone()
        };
        let token_file = match cli.token_file.clone().or(file.token_file) {
            Some(path) => path,
            None => default_token_path().ok_or(ConfigError::NoDataDir)?,
        };
        let max_event_bytes = cli
            .max_event_bytes
            .or(file.max_event_bytes)
            .unwrap_or(DEFAULT_MAX_EVENT_BYTES);
        if max_event_bytes == 0 {
            return Err(ConfigError::Invalid(
                "max_event_bytes must be at least 1 (every event of the provider would be refused)"
                    .into(),
            ));
        }
        let secs = |flag: Option<u64>, file: Option<u64>, default: u64| {
            Duration::from_secs(flag.or(file).unwrap_or(default))
        };
        Ok(Config {
            listen,
            database,
            provider,
            provider_defaulted: named_provider.is_none(),
            openai_base_url: cli
                .openai_base_url
                .clone()
                .or(file.openai_base_url)
                .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.into()),
            model,
            api_key,
            system_prompt: cli
                .system_prompt
                .clone()
                .or(file.system_prompt)
                .filter(|p| !p.trim().is_empty()),
            history_limit,
            echo_delay: Duration::from_millis(
                cli.echo_delay_ms.or(file.echo_delay_ms).unwrap_or(0),
            ),
            connect_timeout: secs(
                cli.connect_timeout_secs,
                file.connect_timeout_secs,
                DEFAULT_CONNECT_TIMEOUT_SECS,
            )
            .max(Duration::from_secs(1)),
            idle_timeout: secs(
                cli.idle_timeout_secs,
                file.idle_timeout_secs,
                DEFAULT_IDLE_TIMEOUT_SECS,
            )
            .max(Duration::from_secs(1)),
            max_event_bytes,
            shutdown_grace: secs(
                cli.shutdown_grace_secs,
                file.shutdown_grace_secs,
                DEFAULT_SHUTDOWN_GRACE_SECS,
            ),
            allowed_hosts: allowed_hosts
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            cors_origins,
            token_file,
            max_replies: cli
                .max_replies
                .or(file.max_replies)
                .unwrap_or(DEFAULT_MAX_REPLIES)
                .max(1),
            checkpoint_interval: Duration::from_millis(
                cli.checkpoint_interval_ms
                    .or(file.checkpoint_interval_ms)
                    .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL_MS),
            ),
            idle_connection_timeout: secs(
                cli.idle_connection_timeout_secs,
                file.idle_connection_timeout_secs,
                DEFAULT_IDLE_CONNECTION_TIMEOUT_SECS,
            )
            .max(Duration::from_secs(1)),
            db_pool_size: cli.db_pool_size.or(file.db_pool_size).filter(|n| *n > 0),
            rendered_cache_bytes: cli
                .rendered_cache_mb
                .or(file.rendered_cache_mb)
                .unwrap_or(DEFAULT_RENDERED_CACHE_MB)
                .saturating_mul(1 << 20)
                .try_into()
                .unwrap_or(usize::MAX),
            config_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["chatd"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_example_file_parses_and_names_every_default() {
        let file: FileConfig = toml::from_str(EXAMPLE_CONFIG).unwrap();
        assert!(
            file.listen.is_none(),
            "the example keeps its keys commented out"
        );
        let uncommented: String = EXAMPLE_CONFIG
            .lines()
            .map(|line| line.strip_prefix("# ").unwrap_or(line))
            .filter(|line| line.contains(" = "))
            .collect::<Vec<_>>()
            .join("\n");
        let file: FileConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(file.listen.unwrap().to_string(), DEFAULT_LISTEN);
        assert_eq!(file.history_limit, Some(DEFAULT_HISTORY_LIMIT));
        assert_eq!(file.rendered_cache_mb, Some(DEFAULT_RENDERED_CACHE_MB));
        assert_eq!(file.idle_timeout_secs, Some(DEFAULT_IDLE_TIMEOUT_SECS));
        assert_eq!(file.max_event_bytes, Some(DEFAULT_MAX_EVENT_BYTES));
        assert_eq!(
            file.openai_base_url.as_deref(),
            Some(DEFAULT_OPENAI_BASE_URL)
        );
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.toml");
        std::fs::write(
            &path,
            "model = \"from-file\"\nprovider = \"openai\"\nhistory_limit = 7\n",
        )
        .unwrap();
        let config_arg = path.to_str().unwrap();
        let config = Config::resolve(
            &cli(&[
                "--config",
                config_arg,
                "--model",
                "from-flag",
                "--database",
                "x.db",
            ]),
            no_env,
        )
        .unwrap();
        assert_eq!(config.model, "from-flag");
        assert_eq!(config.provider, ProviderKind::Openai);
        assert!(!config.provider_defaulted);
        assert_eq!(config.history_limit, 7);
        assert_eq!(config.database, Location::Sqlite(PathBuf::from("x.db")));
    }

    #[test]
    fn echo_is_the_default_provider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.toml");
        std::fs::write(&path, "").unwrap();
        let config = Config::resolve(
            &cli(&["--config", path.to_str().unwrap(), "--database", "a.db"]),
            no_env,
        )
        .unwrap();
        assert_eq!(config.provider, ProviderKind::Echo);
        assert!(config.provider_defaulted);
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn unknown_keys_and_non_loopback_binds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "modle = \"typo\"\n").unwrap();
        let error =
            Config::resolve(&cli(&["--config", path.to_str().unwrap()]), no_env).unwrap_err();
        assert!(error.to_string().contains("modle"), "{error}");

        std::fs::write(&path, "").unwrap();
        let args = [
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "0.0.0.0:8000",
            "--database",
            "a.db",
        ];
        let error = Config::resolve(&cli(&args), no_env).unwrap_err();
        assert!(matches!(error, ConfigError::NonLoopback(_)));
        let mut allowed = args.to_vec();
        allowed.push("--allow-non-loopback");
        assert!(Config::resolve(&cli(&allowed), no_env).is_ok());
    }

    #[test]
    fn the_event_size_cap_comes_from_the_file_or_a_flag_and_cannot_be_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.toml");
        let config_arg = path.to_str().unwrap();
        let resolve = |file: &str, flags: &[&str]| {
            std::fs::write(&path, file).unwrap();
            let mut args = vec!["--config", config_arg, "--database", "a.db"];
            args.extend_from_slice(flags);
            Config::resolve(&cli(&args), no_env)
        };
        let cap = |file: &str, flags: &[&str]| resolve(file, flags).unwrap().max_event_bytes;
        assert_eq!(cap("", &[]), DEFAULT_MAX_EVENT_BYTES);
        assert_eq!(cap("max_event_bytes = 4096\n", &[]), 4096);
        assert_eq!(
            cap(
                "max_event_bytes = 4096\n",
                &["--max-event-bytes", "16777216"]
            ),
            16 << 20
        );
        let error = resolve("max_event_bytes = 0\n", &[]).unwrap_err();
        assert!(error.to_string().contains("max_event_bytes"), "{error}");
    }

    #[test]
    fn database_urls_are_checked() {
        let parse = |v: &str| Location::parse(v);
        assert_eq!(
            parse("sqlite:///tmp/a.db").unwrap(),
            Location::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(parse("rel.db").unwrap(), Location::Sqlite("rel.db".into()));
        let pg = parse("postgres://chat:hunter2@db.internal/chat").unwrap();
        assert_eq!(pg.backend(), "postgres");
        assert_eq!(pg.to_string(), "postgres://chat:***@db.internal/chat");
        assert!(!format!("{pg:?}").contains("hunter2"));
        let error = parse("mysql://localhost/chat").unwrap_err();
        assert!(error.contains("\"mysql\""), "{error}");
    }

    #[test]
    fn the_api_key_comes_from_the_environment_and_is_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.toml");
        std::fs::write(&path, "").unwrap();
        let env = |key: &str| (key == "OPENAI_API_KEY").then(|| "sk-secret".to_string());
        let config = Config::resolve(
            &cli(&["--config", path.to_str().unwrap(), "--database", "a.db"]),
            env,
        )
        .unwrap();
        assert_eq!(config.api_key.as_deref(), Some("sk-secret"));
        assert!(!format!("{config:?}").contains("sk-secret"));
    }
}
