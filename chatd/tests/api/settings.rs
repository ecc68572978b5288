//! Where chatd's settings come from, seen from outside: a flag beats its `CHATD_*`
//! variable, which beats the TOML file, which beats the default; and a bad value in any
//! of them stops chatd with exit status 2 and one exact message.

use std::path::Path;

use crate::support::{Daemon, WAIT};

/// Variables given to one chatd, as (name, value).
type Env<'a> = [(&'a str, &'a str)];

/// Arguments, variables, and the standard error expected of a chatd refusing them.
type Refusal<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, String);

/// Runs chatd with nothing of the caller's environment but `env`, in an empty home,
/// and returns its exit status and standard error; it must stop by itself.
async fn refused(args: &[&str], env: &Env<'_>, home: &Path) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WAIT, output)
        .await
        .expect("chatd stopped by itself")
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn clap_error(message: &str) -> String {
    format!("error: {message}\n\nFor more information, try '--help'.\n")
}

#[tokio::test]
async fn bad_values_are_refused_with_one_exact_message() {
    let home = tempfile::tempdir().unwrap();
    let unsupported = "chatd: database URL scheme \"mysql\" is not supported by this build; \
                       use a SQLite file path, a sqlite:// URL or a postgres:// URL\n";
    let history = "chatd: history_limit must be at least 1 (the new message itself)\n";
    let no_events = "chatd: max_event_bytes must be at least 1 (every event of the provider \
                     would be refused)\n";
    let cases: Vec<Refusal> = vec![
        (
            vec!["--max-event-bytes", "0"],
            vec![],
            no_events.to_string(),
        ),
        (
            vec![],
            vec![("CHATD_MAX_EVENT_BYTES", "0")],
            no_events.to_string(),
        ),
        (
            vec!["--listen", "abc"],
            vec![],
            clap_error("invalid value 'abc' for '--listen <ADDR>': invalid socket address syntax"),
        ),
        (
            vec![],
            vec![("CHATD_LISTEN", "abc")],
            clap_error("invalid value 'abc' for '--listen <ADDR>': invalid socket address syntax"),
        ),
        (
            vec!["--history-limit", "x"],
            vec![],
            clap_error(
                "invalid value 'x' for '--history-limit <N>': invalid digit found in string",
            ),
        ),
        (
            vec![],
            vec![("CHATD_HISTORY_LIMIT", "-1")],
            clap_error("invalid value '-1' for '--history-limit <N>': -1 is not in 0..=4294967295"),
        ),
        (
            vec![],
            vec![("CHATD_PROVIDER", "foo")],
            clap_error(
                "invalid value 'foo' for '--provider <PROVIDER>'\n  [possible values: echo, openai]",
            ),
        ),
        (
            vec!["--listen", "0.0.0.0:0"],
            vec![("CHATD_ALLOW_NON_LOOPBACK", "maybe")],
            clap_error(
                "invalid value 'maybe' for '--allow-non-loopback'\n  [possible values: true, false]",
            ),
        ),
        (
            vec![],
            vec![("CHATD_ECHO_DELAY_MS", "1.5")],
            clap_error(
                "invalid value '1.5' for '--echo-delay-ms <MS>': invalid digit found in string",
            ),
        ),
        (
            vec!["--db-pool-size", "many"],
            vec![],
            clap_error(
                "invalid value 'many' for '--db-pool-size <N>': invalid digit found in string",
            ),
        ),
        (vec!["--history-limit", "0"], vec![], history.to_string()),
        (
            vec![],
            vec![("CHATD_HISTORY_LIMIT", "0")],
            history.to_string(),
        ),
        (
            vec!["--database", "mysql://x/y"],
            vec![],
            unsupported.to_string(),
        ),
        (
            vec![],
            vec![("CHATD_DATABASE", "mysql://x/y")],
            unsupported.to_string(),
        ),
        (
            vec!["--cors-origin", "localhost:3000"],
            vec![],
            "chatd: CORS origin \"localhost:3000\" needs a scheme, e.g. http://localhost:*\n"
                .to_string(),
        ),
        (
            vec![],
            vec![("CHATD_CORS_ORIGINS", "http://ok:*,http://a/b")],
            "chatd: CORS origin \"http://a/b\" is not scheme://host[:port]\n".to_string(),
        ),
        (
            vec!["--cors-origin", "http://localhost:abc"],
            vec![],
            "chatd: CORS origin \"http://localhost:abc\" is not scheme://host[:port]\n".to_string(),
        ),
        (
            vec![],
            vec![("CHATD_LISTEN", "0.0.0.0:0")],
            "chatd: refusing to listen on 0.0.0.0:0: the API has no authentication, so chatd \
             listens on loopback only; pass --allow-non-loopback (or \
             CHATD_ALLOW_NON_LOOPBACK=true) if you mean it\n"
                .to_string(),
        ),
    ];
    for (args, env, expected) in cases {
        let (code, stderr) = refused(&args, &env, home.path()).await;
        assert_eq!(code, Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?} {env:?}");
    }
}

#[tokio::test]
async fn bad_values_in_the_file_are_refused_with_one_exact_message() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("chatd.toml");
    let shown = file.display().to_string();
    let not_valid =
        |message: &str| format!("chatd: the configuration file {shown} is not valid: {message}\n");
    // Every key, in the order of the settings (listen, allow_non_loopback, database, ...).
    // `providers` is the file's alone (no flag or variable gives tables), after
    // `default_provider` as in the settings.
    let expected_keys = chatd::config::Settings::keys()
        .iter()
        .flat_map(|key| match key.as_str() {
            "default_provider" => vec![key.clone(), "providers".to_string()],
            _ => vec![key.clone()],
        })
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(expected_keys.starts_with("`listen`, `allow_non_loopback`, `database`, "));
    let cases = [
        (
            "modle = \"typo\"",
            not_valid(&format!(
                "unknown field `modle`, expected one of {expected_keys}"
            )),
        ),
        (
            "history_limit = \"x\"",
            not_valid("invalid type: string \"x\", expected u32"),
        ),
        (
            "listen = \"abc\"",
            not_valid("invalid socket address syntax"),
        ),
        (
            "provider = \"foo\"",
            not_valid("unknown variant `foo`, expected `echo` or `openai`"),
        ),
        (
            "listen = ",
            not_valid("string values must be quoted, expected literal string"),
        ),
        (
            "cors_origins = \"http://localhost:*\"",
            not_valid("invalid type: string \"http://localhost:*\", expected a sequence"),
        ),
        (
            "max_replies = -1",
            not_valid("invalid value: integer `-1`, expected usize"),
        ),
        (
            "allow_non_loopback = \"yes\"",
            not_valid("invalid type: string \"yes\", expected a boolean"),
        ),
        (
            "history_limit = 0",
            "chatd: history_limit must be at least 1 (the new message itself)\n".to_string(),
        ),
        (
            "cors_origins = [\"localhost:3000\"]",
            "chatd: CORS origin \"localhost:3000\" needs a scheme, e.g. http://localhost:*\n"
                .to_string(),
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).unwrap();
        for (args, env) in [
            (vec!["--config", shown.as_str()], vec![]),
            (vec![], vec![("CHATD_CONFIG", shown.as_str())]),
        ] {
            let (code, stderr) = refused(&args, &env, home.path()).await;
            assert_eq!(code, Some(2), "{text}: {stderr}");
            assert_eq!(stderr, expected, "{text}");
        }
    }
    let missing = home.path().join("none.toml");
    let (code, stderr) = refused(&["--config", missing.to_str().unwrap()], &[], home.path()).await;
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        format!(
            "chatd: could not read the configuration file {}: No such file or directory \
             (os error 2)\n",
            missing.display()
        )
    );
}

/// `/status` shows the provider and model chatd runs with, so it tells which layer won.
/// The OpenAI provider connects only when a chat is sent, so none is sent here.
#[tokio::test]
async fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chatd.toml");
    std::fs::write(
        &file,
        "provider = \"openai\"\nmodel = \"from-file\"\n\
         openai_base_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let cases: [(&[&str], &Env, &str, &str); 6] = [
        (&[], &[], "echo", "echo"),
        (&["--config", config], &[], "openai", "from-file"),
        (&[], &[("CHATD_CONFIG", config)], "openai", "from-file"),
        (
            &["--config", config],
            &[("CHATD_MODEL", "from-variable")],
            "openai",
            "from-variable",
        ),
        (
            &["--config", config, "--model", "from-flag"],
            &[("CHATD_MODEL", "from-variable")],
            "openai",
            "from-flag",
        ),
        (
            &["--config", config, "--provider", "openai"],
            &[("CHATD_PROVIDER", "echo")],
            "openai",
            "from-file",
        ),
    ];
    for (args, env, provider, model) in cases {
        let chatd = Daemon::start_with_env(args, env).await;
        let (status, body) = chatd.get("/status").await;
        assert_eq!(status, 200);
        assert_eq!(
            (&body["provider"], &body["model"]),
            (&provider.into(), &model.into()),
            "{args:?} {env:?}"
        );
    }
    let chatd = Daemon::start_with_env(&["--config", config], &[("CHATD_PROVIDER", "echo")]).await;
    let (_, body) = chatd.get("/status").await;
    assert_eq!(body["provider"], "echo", "a variable beats the file");
}

#[tokio::test]
async fn example_config_prints_the_embedded_example() {
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"))
        .arg("example-config")
        .env_clear()
        .env("HOME", home.path())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text, chatd::config::EXAMPLE_CONFIG);
    assert!(text.contains("# listen = \"127.0.0.1:8000\""));
}
