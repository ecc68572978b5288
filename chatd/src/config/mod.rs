//! chatd's settings and where they come from. Every setting is declared once, as a field
//! of [`Settings`]: its flag and `CHATD_*` variable, its key in the TOML file (the field
//! name), its help text and its default. figment merges the layers key by key, each
//! later one winning: the built-in defaults, the TOML file (`--config`, else the user's
//! config directory), then what the command line and the environment gave (clap reads
//! both, and a flag beats its variable). Each layer holds only the keys it gave, and
//! figment remembers which layer gave each value (how start-up knows that no layer
//! named a provider). `chatd example-config` prints the commented example file embedded
//! below; a test holds it, and `--help`, to the defaults.

pub mod origin;
pub mod providers;
mod settings;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches, Subcommand};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use crate::store::Location;
use origin::OriginPattern;
pub use providers::ProviderConfig;
pub use settings::{ProviderKind, Settings, Switch, TitleMode};

/// The commented example configuration, printed by `chatd example-config`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");

/// chatd's command line: a subcommand, or the settings to serve with. Built only by
/// [`Cli::parse_args`] or [`Cli::try_parse_from`], which also record which settings the
/// command line or the environment gave.
#[derive(Debug, Args)]
#[command(about = env!("CARGO_PKG_DESCRIPTION"), long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,

    /// Configuration file [default: config.toml in the user's config directory, if present]
    #[arg(long, env = "CHATD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The keys of the settings given by a flag or a `CHATD_*` variable; the others in
    /// `settings` are clap's copy of the defaults, which the file must be able to beat.
    #[arg(skip)]
    given: BTreeSet<String>,
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

impl Cli {
    /// The `chatd` command, its flags and their help.
    pub fn command() -> clap::Command {
        let command =
            Cli::augment_args(clap::Command::new("chatd").version(env!("CARGO_PKG_VERSION")))
                // Without this clap shows `[env: CHATD_LISTEN=]` for a variable that is not
                // set, and the value of one that is (an API key, a database password).
                .mut_args(|arg| arg.hide_env_values(true));
        // The help names the real places on this machine, not "the user's directory".
        let command = match default_config_path() {
            Some(path) => command.mut_arg("config", |arg| {
                arg.help(format!(
                    "Configuration file [default: {}, if present]",
                    path.display()
                ))
            }),
            None => command,
        };
        match default_database_path() {
            Some(path) => command.mut_arg("database", |arg| {
                arg.help(format!(
                    "Database: a SQLite file (a path or sqlite:// URL) or a postgres:// URL \
                     [default: {}]",
                    path.display()
                ))
            }),
            None => command,
        }
    }

    /// Parses the process's arguments and `CHATD_*` variables; on a bad value prints
    /// clap's message and exits with status 2.
    pub fn parse_args() -> Cli {
        Cli::from_matches(&Cli::command().get_matches()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the first is the program name) and the process's `CHATD_*`
    /// variables.
    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Cli::from_matches(&Cli::command().try_get_matches_from(args)?)
    }

    fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = <Cli as FromArgMatches>::from_arg_matches(matches)?;
        cli.given = Settings::keys()
            .into_iter()
            .filter(|key| {
                matches!(
                    matches.value_source(key),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .collect();
        Ok(cli)
    }
}

/// The settings chatd runs with, checked, and what follows from them.
#[derive(Clone)]
pub struct Config {
    /// The merged settings, with `system_prompt`, `allowed_hosts`, `max_replies` and
    /// `db_pool_size` normalised.
    pub settings: Settings,
    pub database: Location,
    /// True when no layer named a provider, so start-up can say echo is the default.
    pub provider_defaulted: bool,
    /// From `CHATD_OPENAI_API_KEY`, else `OPENAI_API_KEY`; never printed.
    pub api_key: Option<String>,
    /// Every provider, the flags' one and the file's, in the order `GET /models` lists
    /// them; their keys read.
    pub providers: Vec<ProviderConfig>,
    /// The name of the provider of bare model names.
    pub default_provider: String,
    pub cors_origins: Vec<OriginPattern>,
    /// Where the bearer token lives; used on non-loopback binds only.
    pub token_file: PathBuf,
    /// The file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.settings.listen)
            .field("database", &self.database)
            .field("provider", &self.settings.provider)
            .field("openai_base_url", &self.settings.openai_base_url)
            .field("model", &self.settings.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("providers", &self.providers)
            .field("default_provider", &self.default_provider)
            .field("history_limit", &self.settings.history_limit)
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

/// chatd's data directory (on Linux `~/.local/share/chatd`).
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().to_path_buf())
}

/// The database file used when none is configured.
pub fn default_database_path() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().join("chatd.db"))
}

/// What a configuration file sets: its values, and which keys it wrote.
struct FileSettings {
    settings: Settings,
    keys: BTreeSet<String>,
}

fn read_file(path: &Path, required: bool) -> Result<Option<FileSettings>, ConfigError> {
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
    let invalid = |e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    };
    // Read with toml rather than figment's own TOML provider, so that a bad key or
    // value is reported in toml's words, which name the expected type or keys.
    let table: toml::Table = toml::from_str(&text).map_err(invalid)?;
    providers::refuse_keys_in_file(&table).map_err(|message| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    let settings: Settings = toml::from_str(&text).map_err(invalid)?;
    Ok(Some(FileSettings {
        settings,
        keys: table.keys().cloned().collect(),
    }))
}

/// The names figment records for the layers, to tell which one gave a value.
const DEFAULTS_LAYER: &str = "built-in defaults";
const FILE_LAYER: &str = "configuration file";
const ARGS_LAYER: &str = "flags and CHATD_* variables";

/// One layer of settings for figment: the keys this layer gave, with their values.
struct Layer {
    name: &'static str,
    values: Dict,
}

impl Layer {
    fn new(
        name: &'static str,
        settings: &Settings,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Layer, ConfigError> {
        let cannot = |e: figment::Error| {
            ConfigError::Invalid(format!("the settings from the {name} cannot be used: {e}"))
        };
        let mut values = Value::serialize(settings)
            .map_err(cannot)?
            .into_dict()
            .unwrap_or_default();
        values.retain(|key, _| keep(key));
        Ok(Layer { name, values })
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

impl Config {
    /// Merges the layers and checks the result. `env_key` reads an environment variable
    /// (injected for tests); clap has read the `CHATD_*` ones already.
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
        let mut layers = Figment::from(Layer::new(DEFAULTS_LAYER, &Settings::default(), |_| true)?);
        if let Some(file) = &file {
            layers = layers.merge(Layer::new(FILE_LAYER, &file.settings, |key| {
                file.keys.contains(key)
            })?);
        }
        layers = layers.merge(Layer::new(ARGS_LAYER, &cli.settings, |key| {
            cli.given.contains(key)
        })?);
        let mut settings: Settings = layers
            .extract()
            .map_err(|e| ConfigError::Invalid(format!("the settings could not be merged: {e}")))?;
        let defaulted = |key: &str| {
            layers
                .find_metadata(key)
                .is_none_or(|layer| layer.name == DEFAULTS_LAYER)
        };

        if !settings.listen.ip().is_loopback() && !settings.allow_non_loopback {
            return Err(ConfigError::NonLoopback(settings.listen));
        }
        let database = match &settings.database {
            Some(value) => Location::parse(value).map_err(ConfigError::Invalid)?,
            None => Location::Sqlite(default_database_path().ok_or(ConfigError::NoDataDir)?),
        };
        let provider_defaulted = defaulted("provider");
        let api_key = env_key("CHATD_OPENAI_API_KEY")
            .filter(|k| !k.is_empty())
            .or_else(|| env_key("OPENAI_API_KEY").filter(|k| !k.is_empty()));
        if settings.max_event_bytes == 0 {
            return Err(ConfigError::Invalid(
                "max_event_bytes must be at least 1 (every event of the provider would be refused)"
                    .into(),
            ));
        }
        if settings.history_limit == 0 {
            return Err(ConfigError::Invalid(
                "history_limit must be at least 1 (the new message itself)".into(),
            ));
        }
        let cors_origins = settings
            .cors_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| OriginPattern::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ConfigError::Invalid)?;
        let token_file = match &settings.token_file {
            Some(path) => path.clone(),
            None => default_token_path().ok_or(ConfigError::NoDataDir)?,
        };
        let (providers, default_provider) =
            providers::resolve(&settings, api_key.clone(), &env_key)?;
        settings.system_prompt = settings.system_prompt.filter(|p| !p.trim().is_empty());
        settings.allowed_hosts = settings
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        settings.max_replies = settings.max_replies.max(1);
        // The file is not read through the flag's range.
        settings.events_buffer = settings.events_buffer.clamp(16, 65_536);
        settings.db_pool_size = settings.db_pool_size.filter(|n| *n > 0);
        settings.search_language = settings
            .search_language
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        Ok(Config {
            settings,
            database,
            provider_defaulted,
            api_key,
            providers,
            default_provider,
            cors_origins,
            token_file,
            config_file,
        })
    }
}

#[cfg(test)]
mod tests;
