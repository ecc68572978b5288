//! Unit tests of the settings: the layers' precedence, the defaults as `--help` and the
//! example file show them, and the checks that refuse bad values.

use std::time::Duration;

use super::*;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["chatd"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// The example file with every `# key = value` line uncommented (the indented lines of
/// the example provider tables are not top-level keys).
fn uncommented_example() -> String {
    EXAMPLE_CONFIG
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .filter(|line| line.contains(" = ") && !line.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The example's `[providers.NAME]` tables, uncommented.
fn example_provider_tables() -> String {
    EXAMPLE_CONFIG
        .lines()
        .filter_map(|line| line.strip_prefix("#     "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_command_line_is_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn the_example_file_parses_and_names_every_default() {
    let table: toml::Table = toml::from_str(EXAMPLE_CONFIG).unwrap();
    assert!(table.is_empty(), "the example keeps its keys commented out");
    let file: Settings = toml::from_str(&uncommented_example()).unwrap();
    let defaults = Settings::default();
    assert_eq!(file.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(file.listen, defaults.listen);
    assert_eq!(file.history_limit, defaults.history_limit);
    assert_eq!(file.rendered_cache_mb, defaults.rendered_cache_mb);
    assert_eq!(file.idle_timeout_secs, defaults.idle_timeout_secs);
    assert_eq!(file.openai_base_url, defaults.openai_base_url);
}

/// The example file lists every setting, and each value it shows is the real default
/// (settings whose default depends on the machine show a sample value instead).
#[test]
fn the_example_file_cannot_drift_from_the_defaults() {
    let example: toml::Table = toml::from_str(&uncommented_example()).unwrap();
    let defaults = toml::Table::try_from(Settings::default()).unwrap();
    for key in Settings::keys() {
        let shown = example
            .get(&key)
            .unwrap_or_else(|| panic!("config.example.toml has no `# {key} = ...` line"));
        match defaults.get(&key) {
            Some(default) => assert_eq!(shown, default, "the example's {key}"),
            None => assert!(
                [
                    "database",
                    "system_prompt",
                    "title_model",
                    "token_file",
                    "db_pool_size",
                    "default_provider",
                    "search_language"
                ]
                .contains(&&*key),
                "{key} has no default but is not known to depend on the machine"
            ),
        }
    }
    for key in example.keys() {
        assert!(
            Settings::keys().contains(key),
            "the example's {key} is no setting"
        );
    }
}

/// `--help` shows each default as clap renders it from the same `#[arg]` that
/// `Settings::default` reads.
#[test]
fn the_help_shows_the_real_defaults() {
    let help = Cli::command().render_long_help().to_string();
    let defaults = toml::Table::try_from(Settings::default()).unwrap();
    let mut checked = 0;
    for (key, value) in &defaults {
        let shown = match value {
            toml::Value::String(text) => text.clone(),
            // No list to show.
            toml::Value::Array(items) if items.is_empty() => continue,
            toml::Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            // A flag's default (false) is its absence.
            toml::Value::Boolean(_) => continue,
            other => other.to_string(),
        };
        assert!(
            help.contains(&format!("[default: {shown}]")),
            "--help does not show {key}'s default {shown}:\n{help}"
        );
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} defaults were checked");
    assert!(help.contains("[default: echo]"));
    assert!(help.contains("[env: CHATD_LISTEN]"), "{help}");
    assert!(!help.contains("CHATD_LISTEN="), "{help}");
    if let Some(path) = super::default_config_path() {
        assert!(help.contains(&path.display().to_string()), "{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:8000]"));
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
    assert_eq!(config.settings.model, "from-flag");
    assert_eq!(config.settings.provider, ProviderKind::Openai);
    assert!(!config.provider_defaulted);
    assert_eq!(config.settings.history_limit, 7);
    assert_eq!(config.database, Location::Sqlite(PathBuf::from("x.db")));
    assert_eq!(config.config_file.as_deref(), Some(path.as_path()));
}

/// A value the file sets wins over the default even when clap filled the same field
/// with its default; one the command line gives wins over the file.
#[test]
fn each_layer_wins_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.toml");
    std::fs::write(
        &path,
        "history_limit = 7\nmax_replies = 3\ncors_origins = [\"https://a.example\"]\n\
         allow_non_loopback = true\nlisten = \"0.0.0.0:9000\"\n",
    )
    .unwrap();
    let config_arg = path.to_str().unwrap();
    let config = Config::resolve(
        &cli(&[
            "--config",
            config_arg,
            "--database",
            "x.db",
            "--max-replies",
            "5",
        ]),
        no_env,
    )
    .unwrap();
    let settings = &config.settings;
    assert_eq!(settings.history_limit, 7, "file over default");
    assert_eq!(settings.max_replies, 5, "flag over file");
    assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
    assert!(settings.allow_non_loopback);
    assert_eq!(settings.cors_origins, ["https://a.example"]);
    assert_eq!(config.cors_origins.len(), 1);
    assert_eq!(
        settings.rendered_cache_mb, 8,
        "default where no layer speaks"
    );
    let flagged = Config::resolve(
        &cli(&[
            "--config",
            config_arg,
            "--database",
            "x.db",
            "--cors-origin",
            "http://b.example:1,http://c.example:2",
        ]),
        no_env,
    )
    .unwrap();
    assert_eq!(
        flagged.settings.cors_origins,
        ["http://b.example:1", "http://c.example:2"],
        "a list from the command line replaces the file's"
    );
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
    assert_eq!(config.settings.provider, ProviderKind::Echo);
    assert!(config.provider_defaulted);
    assert_eq!(config.settings.listen.to_string(), "127.0.0.1:8000");
    let named = Config::resolve(
        &cli(&[
            "--config",
            path.to_str().unwrap(),
            "--database",
            "a.db",
            "--provider",
            "echo",
        ]),
        no_env,
    )
    .unwrap();
    assert!(!named.provider_defaulted);
}

#[test]
fn unknown_keys_and_non_loopback_binds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "modle = \"typo\"\n").unwrap();
    let error = Config::resolve(&cli(&["--config", path.to_str().unwrap()]), no_env).unwrap_err();
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

#[test]
fn settings_are_normalised_once_merged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.toml");
    std::fs::write(
        &path,
        "system_prompt = \"  \"\nallowed_hosts = [\" Chat.LAN \", \"\"]\nmax_replies = 0\n\
         db_pool_size = 0\nconnect_timeout_secs = 0\nrendered_cache_mb = 2\n",
    )
    .unwrap();
    let config = Config::resolve(
        &cli(&["--config", path.to_str().unwrap(), "--database", "a.db"]),
        no_env,
    )
    .unwrap();
    let settings = &config.settings;
    assert_eq!(settings.system_prompt, None);
    assert_eq!(settings.allowed_hosts, ["chat.lan"]);
    assert_eq!(settings.max_replies, 1);
    assert_eq!(settings.db_pool_size, None);
    assert_eq!(settings.connect_timeout(), Duration::from_secs(1));
    assert_eq!(settings.rendered_cache_bytes(), 2 << 20);
}

fn config_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("chatd.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_example_providers_are_a_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "default_provider = \"ollama\"\nmodel = \"llama3.2\"\n{}",
        example_provider_tables()
    );
    let path = config_file(&dir, &text);
    let env = |key: &str| (key == "OPENROUTER_API_KEY").then(|| "sk-or-secret".to_string());
    let config = Config::resolve(&cli(&["--config", &path, "--database", "a.db"]), env).unwrap();
    let names: Vec<&str> = config.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["echo", "ollama", "openrouter"]);
    assert_eq!(config.default_provider, "ollama");
    let openrouter = &config.providers[2];
    assert_eq!(openrouter.api_key.as_deref(), Some("sk-or-secret"));
    assert_eq!(
        openrouter.headers,
        [("X-Title".to_string(), "chatd".to_string())]
    );
    assert_eq!(openrouter.models.as_ref().map(Vec::len), Some(2));
    assert_eq!(config.providers[1].base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(config.providers[1].api_key, None);
    let shown = format!("{config:?} {:?}", config.settings);
    assert!(
        shown.contains("X-Title"),
        "the header's name is shown: {shown}"
    );
    assert!(
        !shown.contains("sk-or-secret") && !shown.contains("\"chatd\""),
        "{shown}"
    );
}

/// Without a file chatd runs the one provider of its flags, named after its kind; a
/// file's provider of that name stands in its place.
#[test]
fn the_flags_configure_the_provider_named_after_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(&dir, "");
    let env = |key: &str| (key == "OPENAI_API_KEY").then(|| "sk-flag".to_string());
    let on_openai = |path: &str| {
        let args = [
            "--config",
            path,
            "--database",
            "a.db",
            "--provider",
            "openai",
        ];
        Config::resolve(&cli(&args), env).unwrap()
    };
    let config = on_openai(&path);
    assert_eq!(config.providers.len(), 1);
    let only = &config.providers[0];
    assert_eq!(
        (only.name.as_str(), only.kind, only.base_url.as_str()),
        ("openai", ProviderKind::Openai, "https://api.openai.com/v1")
    );
    assert_eq!(only.api_key.as_deref(), Some("sk-flag"));
    assert_eq!(config.default_provider, "openai");

    let path = config_file(
        &dir,
        "[providers.openai]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
         api_key_env = \"MY_KEY\"\n",
    );
    let config = on_openai(&path);
    assert_eq!(config.providers.len(), 1);
    assert_eq!(config.providers[0].base_url, "http://127.0.0.1:9/v1");
    assert_eq!(config.providers[0].api_key, None, "MY_KEY is not set");
    assert_eq!(config.providers[0].key_source.as_deref(), Some("MY_KEY"));
}

#[test]
fn keys_in_the_file_and_bad_providers_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let resolve = |text: &str| {
        let path = config_file(&dir, text);
        Config::resolve(&cli(&["--config", &path, "--database", "a.db"]), no_env)
            .unwrap_err()
            .to_string()
    };
    let error = resolve(
        "[providers.openai]\nkind = \"openai\"\nbase_url = \"https://x/v1\"\napi_key = \"sk-1\"\n",
    );
    assert!(error.contains("providers.openai.api_key"), "{error}");
    assert!(error.contains("api_key_env"), "{error}");
    assert!(!error.contains("sk-1"), "{error}");
    let error = resolve("api_key = \"sk-1\"\n");
    assert!(
        error.contains("never read from the configuration file"),
        "{error}"
    );
    let error = resolve("[providers.local]\nkind = \"openai\"\n");
    assert!(
        error.contains("providers.local: an openai provider needs base_url"),
        "{error}"
    );
    let error = resolve("[providers.\"a/b\"]\nkind = \"echo\"\n");
    assert!(error.contains("PROVIDER/MODEL"), "{error}");
    let error = resolve("[providers.x]\nkind = \"openai\"\nbase_url = \"ftp://h/v1\"\n");
    assert!(error.contains("not http or https"), "{error}");
    let error = resolve("[providers.x]\nkind = \"echo\"\napi_key_env = \"sk-abc def\"\n");
    assert!(error.contains("no variable name"), "{error}");
    let error = resolve("default_provider = \"nope\"\n");
    assert!(
        error.contains("\"nope\" is no configured provider (they are: echo)"),
        "{error}"
    );
    let error = resolve("[providers.x]\nkind = \"claude\"\n");
    assert!(error.contains("claude"), "{error}");
}
