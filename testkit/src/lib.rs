//! Starting chatd or chatctl from a test or the benchmark harness without reading the
//! files and settings of whoever runs them.
//!
//! A developer's shell may hold a `~/.config/chatd/config.toml`, a `CHATD_PROVIDER=openai`,
//! an `OPENAI_API_KEY`, a `CHATCTL_SERVER` pointing at their own daemon or an HTTP proxy.
//! Any of these would make a test pass or fail depending on who runs it, and some would
//! send a test's requests (or a real key) away from 127.0.0.1. [`isolated`] builds the
//! command with all of them taken away and a home directory of the caller's choosing.
//!
//! Standard library only; a `tokio::process::Command` is made with
//! `tokio::process::Command::from(isolated(..))`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prefixes of the variables chatd and chatctl read their settings from; every variable
/// starting with one is removed, so a setting added later is covered without a change here.
pub const SETTING_PREFIXES: [&str; 2] = ["CHATD_", "CHATCTL_"];

/// Other variables removed from the child's environment, and why:
/// - `OPENAI_API_KEY`: chatd's fallback for the provider key; a real key must never reach
///   a test's fake upstream (or a real provider).
/// - `NO_COLOR`: chatd and chatctl colour their output by it; tests that care set it.
/// - `RUST_LOG`: chatd's log filter when `CHATD_LOG` is unset; a developer's `trace`
///   would flood the output of every test.
/// - the proxy variables: reqwest (in chatd's provider client and in chatctl) honours
///   them, which would route requests for 127.0.0.1 through the developer's proxy.
/// - `XDG_CONFIG_DIRS`, `XDG_DATA_DIRS`, `XDG_RUNTIME_DIR`: system-wide and per-session
///   locations outside the temporary home.
/// - `VISUAL`, `EDITOR`: chatctl's `/edit` runs the developer's editor otherwise; tests
///   that want one set it.
pub const REMOVED: [&str; 16] = [
    "OPENAI_API_KEY",
    "NO_COLOR",
    "RUST_LOG",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
    "XDG_RUNTIME_DIR",
    "VISUAL",
    "EDITOR",
];

/// `XDG_CONFIG_HOME` under a home, where a real user's would be: chatd reads
/// `chatd/config.toml` there and chatctl `chatctl/config.toml`.
pub fn config_home(home: &Path) -> PathBuf {
    home.join(".config")
}

/// `XDG_DATA_HOME` under a home: chatd keeps its default database and `token` in
/// `chatd/`, chatctl its autostart log and pid in `chatctl/`.
pub fn data_home(home: &Path) -> PathBuf {
    home.join(".local/share")
}

/// `program` with an environment that reads nothing of the user's: `HOME` is `home`,
/// `XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `XDG_STATE_HOME` and `XDG_CACHE_HOME` are the
/// usual places under it, every `CHATD_*` and `CHATCTL_*` variable is removed, and so
/// are the variables of [`REMOVED`]. Everything else (`PATH`,
/// `LANG`, `RUST_BACKTRACE`, ...) is inherited. The caller adds its own arguments and
/// variables afterwards; a variable set later wins over a removal here.
///
/// `home` need not exist: chatd and chatctl create the directories they write to.
pub fn isolated(program: impl AsRef<OsStr>, home: &Path) -> Command {
    isolated_from(program, home, std::env::vars_os().map(|(name, _)| name))
}

/// [`isolated`] for a parent whose variables are named by `inherited`.
fn isolated_from(
    program: impl AsRef<OsStr>,
    home: &Path,
    inherited: impl Iterator<Item = OsString>,
) -> Command {
    let mut command = Command::new(program);
    for name in inherited {
        let is_setting = name
            .to_str()
            .is_some_and(|name| SETTING_PREFIXES.iter().any(|p| name.starts_with(p)));
        if is_setting {
            command.env_remove(&name);
        }
    }
    for name in REMOVED {
        command.env_remove(name);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", config_home(home))
        .env("XDG_DATA_HOME", data_home(home))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `command` changes in its child's environment: a value, or `None` for a
    /// removed variable.
    fn changes(command: &Command) -> Vec<(String, Option<String>)> {
        command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn every_setting_of_the_parent_is_removed_and_nothing_else_of_its_own() {
        let parent = [
            "CHATD_PROVIDER",
            "CHATCTL_SERVER",
            "CHATD_",
            "PATH",
            "CHAT",
            "chatd_x",
        ];
        let command = isolated_from("true", Path::new("/h"), parent.iter().map(OsString::from));
        let env = changes(&command);
        for removed in ["CHATD_PROVIDER", "CHATCTL_SERVER", "CHATD_"] {
            assert!(
                env.contains(&(removed.into(), None)),
                "{removed} in {env:?}"
            );
        }
        for kept in ["PATH", "CHAT", "chatd_x"] {
            assert!(
                env.iter().all(|(name, _)| name != kept),
                "{kept} in {env:?}"
            );
        }
    }

    #[test]
    fn the_home_and_its_directories_are_the_given_one() {
        let command = isolated_from("true", Path::new("/h"), std::iter::empty());
        let env = changes(&command);
        for (name, value) in [
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "/h/.config"),
            ("XDG_DATA_HOME", "/h/.local/share"),
            ("XDG_STATE_HOME", "/h/.local/state"),
            ("XDG_CACHE_HOME", "/h/.cache"),
        ] {
            assert!(
                env.contains(&(name.into(), Some(value.into()))),
                "{name} in {env:?}"
            );
        }
        for name in REMOVED {
            assert!(env.contains(&(name.to_string(), None)), "{name} in {env:?}");
        }
    }

    #[test]
    fn a_child_gets_the_home_and_the_callers_own_variables() {
        let output = isolated("env", Path::new("/nonexistent/home"))
            .env("CHATCTL_SET_BY_CALLER", "kept")
            .env("NO_COLOR", "1")
            .output()
            .expect("run env");
        assert!(output.status.success());
        let seen = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = seen.lines().collect();
        for wanted in [
            "HOME=/nonexistent/home",
            "CHATCTL_SET_BY_CALLER=kept",
            "NO_COLOR=1",
        ] {
            assert!(lines.contains(&wanted), "{wanted} in {seen}");
        }
        assert!(
            !lines.iter().any(|l| l.starts_with("OPENAI_API_KEY=")),
            "{seen}"
        );
    }
}
