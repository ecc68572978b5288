//! The one list of chatd's settings: [`Settings`], a field per setting with its flag,
//! its `CHATD_*` variable, its TOML key, its help and its default. How the layers are
//! merged is in the parent module.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, FromArgMatches, ValueEnum};
use serde::{Deserialize, Serialize};

use super::origin::DEFAULT_CORS_ORIGINS;
use super::providers::ProviderSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Offline: answers with the user's own message, word by word.
    Echo,
    /// Any OpenAI-compatible /chat/completions endpoint (OpenAI, Ollama, llama.cpp, vLLM).
    Openai,
}

/// A part of chatd switched on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

/// How chatd names a conversation that has no name, after its first complete reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TitleMode {
    /// The first line of the user's first message, cut at a word.
    FirstLine,
    /// A short request to the conversation's model (or --title-model); the first line
    /// when that fails.
    Model,
    /// Conversations keep no name until someone gives them one.
    Off,
}

/// Every setting of chatd. A field is one setting everywhere: its doc comment is the
/// `--help` text, its `#[arg]` names the flag and the variable and holds the default
/// (which `--help` shows and [`Settings::default`] reads back), and its name is the key
/// of the TOML file. Adding a setting is adding a field here, its commented line to
/// `config.example.toml` (a test insists) and its use. The field order is the order of
/// `--help` and of the "expected one of" list for an unknown key in the file.
#[derive(Debug, Clone, PartialEq, Args, Serialize, Deserialize)]
#[command(about = None, long_about = None)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on
    #[arg(
        long,
        env = "CHATD_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// Allow listening on an address other than loopback (the API has no authentication)
    #[arg(long, env = "CHATD_ALLOW_NON_LOOPBACK")]
    pub allow_non_loopback: bool,

    /// Database: a SQLite file (a path or sqlite:// URL) or a postgres:// URL [default: chatd.db in the user's data directory]
    #[arg(long, env = "CHATD_DATABASE", value_name = "PATH")]
    pub database: Option<String>,

    /// Where replies come from
    #[arg(long, env = "CHATD_PROVIDER", value_enum, default_value_t = ProviderKind::Echo)]
    pub provider: ProviderKind,

    /// Base URL of the OpenAI-compatible API
    #[arg(
        long,
        env = "CHATD_OPENAI_BASE_URL",
        value_name = "URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Model name sent to the default provider for conversations without a model of their own
    #[arg(long, env = "CHATD_MODEL", default_value = "gpt-4o-mini")]
    pub model: String,

    /// The provider of conversations without a model and of bare model names: a [providers.NAME] of the configuration file, or the one --provider configures (named echo or openai) [default: the one --provider configures]
    #[arg(long, env = "CHATD_DEFAULT_PROVIDER", value_name = "NAME")]
    pub default_provider: Option<String>,

    /// Further providers, by name; only the configuration file gives them.
    #[arg(skip)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderSettings>,

    /// System prompt sent before every conversation's history
    #[arg(long, env = "CHATD_SYSTEM_PROMPT", value_name = "TEXT")]
    pub system_prompt: Option<String>,

    /// How conversations without a name get a title after their first complete reply
    #[arg(long, env = "CHATD_TITLES", value_enum, default_value_t = TitleMode::FirstLine)]
    pub titles: TitleMode,

    /// Model asked for titles with --titles model [default: the conversation's model]
    #[arg(long, env = "CHATD_TITLE_MODEL", value_name = "MODEL")]
    pub title_model: Option<String>,

    /// How many past messages go to the provider with a new one
    #[arg(
        long,
        env = "CHATD_HISTORY_LIMIT",
        value_name = "N",
        default_value_t = 50
    )]
    pub history_limit: u32,

    /// Delay between two tokens of the echo provider, in milliseconds
    #[arg(
        long,
        env = "CHATD_ECHO_DELAY_MS",
        value_name = "MS",
        default_value_t = 0
    )]
    pub echo_delay_ms: u64,

    /// How long connecting to the provider may take, in seconds
    #[arg(
        long,
        env = "CHATD_CONNECT_TIMEOUT_SECS",
        value_name = "SECS",
        default_value_t = 10
    )]
    pub connect_timeout_secs: u64,

    /// How long the provider may stay silent before a reply fails, in seconds
    #[arg(
        long,
        env = "CHATD_IDLE_TIMEOUT_SECS",
        value_name = "SECS",
        default_value_t = 120
    )]
    pub idle_timeout_secs: u64,

    /// The largest event accepted from the provider's stream, in bytes; a reply whose provider sends a larger one fails
    #[arg(
        long,
        env = "CHATD_MAX_EVENT_BYTES",
        value_name = "BYTES",
        default_value_t = 1 << 20
    )]
    pub max_event_bytes: usize,

    /// How long replies in flight may take to finish at shutdown, in seconds
    #[arg(
        long,
        env = "CHATD_SHUTDOWN_GRACE_SECS",
        value_name = "SECS",
        default_value_t = 10
    )]
    pub shutdown_grace_secs: u64,

    /// Extra host names the daemon answers to on a loopback bind (DNS-rebinding guard)
    #[arg(
        long = "allowed-host",
        env = "CHATD_ALLOWED_HOSTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Origins whose web pages may call the API, e.g. https://chat.example.com or
    /// http://localhost:*
    #[arg(
        long = "cors-origin",
        env = "CHATD_CORS_ORIGINS",
        value_name = "ORIGIN",
        value_delimiter = ',',
        default_values_t = DEFAULT_CORS_ORIGINS.map(String::from)
    )]
    pub cors_origins: Vec<String>,

    /// Bearer token file for non-loopback binds, created on first use [default: token in the user's data directory]
    #[arg(long, env = "CHATD_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Replies that may be generated at once; more chats get a 503
    #[arg(
        long,
        env = "CHATD_MAX_REPLIES",
        value_name = "N",
        default_value_t = 1024
    )]
    pub max_replies: usize,

    /// Events a `GET /events` client may fall behind before it is sent `lagged` (16 to 65536)
    #[arg(
        long,
        env = "CHATD_EVENTS_BUFFER",
        value_name = "N",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(16..=65_536)
    )]
    pub events_buffer: u32,

    /// How often replies in flight are checkpointed to the database, in milliseconds; 0 turns it off
    #[arg(
        long,
        env = "CHATD_CHECKPOINT_INTERVAL_MS",
        value_name = "MS",
        default_value_t = 1000
    )]
    pub checkpoint_interval_ms: u64,

    /// Seconds a connection may sit idle (or take sending a request head) before it is closed
    #[arg(
        long,
        env = "CHATD_IDLE_CONNECTION_TIMEOUT_SECS",
        value_name = "SECS",
        default_value_t = 30
    )]
    pub idle_connection_timeout_secs: u64,

    /// Database connections: PostgreSQL's pool; on SQLite, read connections kept open (reads run on the asking thread, writes on one writer thread) [default: twice the cores, 4 to 16]
    #[arg(long, env = "CHATD_DB_POOL_SIZE", value_name = "N")]
    pub db_pool_size: Option<u32>,

    /// PostgreSQL: whether each commit waits for the server's WAL flush; off, a crash of the PostgreSQL server (not of chatd) can lose the last fraction of a second of commits, as an OS crash can on SQLite, for several times the chats per second; SQLite ignores it
    #[arg(long, env = "CHATD_POSTGRES_SYNCHRONOUS_COMMIT", value_enum, default_value_t = Switch::On)]
    pub postgres_synchronous_commit: Switch,

    /// PostgreSQL's full-text search language, a text search configuration (english, french, simple, ...: SELECT cfgname FROM pg_ts_config); another than the database's re-indexes every message at start-up; SQLite ignores it [default: the database's, simple for a new one]
    #[arg(long, env = "CHATD_SEARCH_LANGUAGE", value_name = "CONFIG")]
    pub search_language: Option<String>,

    /// Megabytes of messages kept rendered as JSON for conversation reads, half as much again for whole rendered paths, half as much again for the paths of conversations read, and half as much again for the texts of chats' histories; 0 turns all four off
    #[arg(
        long,
        env = "CHATD_RENDERED_CACHE_MB",
        value_name = "MB",
        default_value_t = 8
    )]
    pub rendered_cache_mb: u64,

    /// The OpenAI-compatible front door at /v1 (chat completions and models)
    #[arg(long, env = "CHATD_FRONT_DOOR", value_enum, default_value_t = Switch::On)]
    pub front_door: Switch,

    /// The user that front-door and AI SDK (`/api/v1/ui/chat`) requests naming no user are stored under; created on first use
    #[arg(
        long,
        env = "CHATD_DEFAULT_USER",
        value_name = "NAME",
        default_value = "local"
    )]
    pub default_user: String,
}

impl Default for Settings {
    /// The defaults written in the `#[arg]`s above, read back by parsing an empty
    /// command line with the variables switched off, so they are written only there.
    fn default() -> Self {
        let command = Settings::augment_args(clap::Command::new("defaults").no_binary_name(true))
            .mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(std::iter::empty::<OsString>())
            .expect("the built-in defaults parse");
        Settings::from_arg_matches(&matches).expect("the built-in defaults are settings")
    }
}

impl Settings {
    /// The settings' keys: the TOML keys, which are also clap's argument ids.
    pub fn keys() -> Vec<String> {
        Settings::augment_args(clap::Command::new("keys"))
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect()
    }

    pub fn echo_delay(&self) -> Duration {
        Duration::from_millis(self.echo_delay_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        at_least_a_second(self.connect_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        at_least_a_second(self.idle_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Zero when checkpoints are off.
    pub fn checkpoint_interval(&self) -> Duration {
        Duration::from_millis(self.checkpoint_interval_ms)
    }

    pub fn idle_connection_timeout(&self) -> Duration {
        at_least_a_second(self.idle_connection_timeout_secs)
    }

    /// Bytes of rendered messages kept for conversation reads; zero when off.
    pub fn rendered_cache_bytes(&self) -> usize {
        self.rendered_cache_mb
            .saturating_mul(1 << 20)
            .try_into()
            .unwrap_or(usize::MAX)
    }
}

/// A timeout of zero would fail every connection at once; one second is the least.
fn at_least_a_second(secs: u64) -> Duration {
    Duration::from_secs(secs).max(Duration::from_secs(1))
}
