//! What `chatctl` remembers between runs: the default user and the last conversation per
//! server and user, in `config.toml` in the user's config directory
//! (`$XDG_CONFIG_HOME/chatctl/` on Linux), the `[daemon]` settings chatd is started
//! with, plus where started daemons log.
//!
//! Remembering is a convenience: a missing, unreadable or corrupt file never stops a
//! command, it only costs the defaults (with a warning on stderr).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use serde::{Deserialize, Serialize};

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// The user to act as when neither `--user` nor `CHATCTL_USER` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The conversation last used, per server and user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_conversation: Vec<LastConversation>,
    /// How chatctl starts chatd (`daemon start`, and when nothing answers).
    #[serde(default, skip_serializing_if = "DaemonSettings::is_empty")]
    pub daemon: DaemonSettings,
}

/// The `[daemon]` table: what the chatd that chatctl starts runs with, so that
/// `chatctl` alone is the whole product for one person:
///
/// ```toml
/// [daemon]
/// provider = "openai"
/// model = "llama3.2"
/// args = ["--openai-base-url", "http://127.0.0.1:11434/v1"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// chatd's `--provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// chatd's `--model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Any other chatd arguments, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl DaemonSettings {
    fn is_empty(&self) -> bool {
        *self == DaemonSettings::default()
    }

    /// The chatd arguments these settings stand for (after `--listen`).
    pub fn chatd_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(provider) = &self.provider {
            args.extend(["--provider".to_string(), provider.clone()]);
        }
        if let Some(model) = &self.model {
            args.extend(["--model".to_string(), model.clone()]);
        }
        args.extend(self.args.iter().cloned());
        args
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastConversation {
    pub server: String,
    pub user: String,
    pub id: i64,
}

impl Remembered {
    pub fn last_conversation(&self, server: &str, user: &str) -> Option<i64> {
        self.last_conversation
            .iter()
            .find(|c| c.server == server && c.user == user)
            .map(|c| c.id)
    }

    /// Records `id` as the last conversation; returns whether anything changed.
    pub fn set_last_conversation(&mut self, server: &str, user: &str, id: i64) -> bool {
        if let Some(entry) = self
            .last_conversation
            .iter_mut()
            .find(|c| c.server == server && c.user == user)
        {
            let changed = entry.id != id;
            entry.id = id;
            return changed;
        }
        self.last_conversation.push(LastConversation {
            server: server.to_string(),
            user: user.to_string(),
            id,
        });
        true
    }
}

/// Where the remembered state lives, and the state itself.
#[derive(Debug)]
pub struct Store {
    path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    pub remembered: Remembered,
}

const HEADER: &str = "# chatctl remembers the default user and the last conversation here.\n\
# Safe to edit or delete; `--user` and CHATCTL_USER override `user`.\n\
# A [daemon] table (provider, model, args) sets what the chatd chatctl starts runs with.\n";

impl Store {
    /// Loads the state from the user's config directory (none when there is no home).
    pub fn load() -> Store {
        let dirs = ProjectDirs::from("", "", "chatctl");
        let path = dirs.as_ref().map(|d| d.config_dir().join("config.toml"));
        let data_dir = dirs.as_ref().map(|d| d.data_dir().to_path_buf());
        let remembered = path.as_deref().map(read).unwrap_or_default();
        Store {
            path,
            data_dir,
            remembered,
        }
    }

    /// The directory for autostarted daemons' logs.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Writes the state back; a failure is reported on stderr and otherwise ignored.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if let Err(err) = write(path, &self.remembered) {
            crate::output::warn(&format!(
                "could not remember settings in {}: {err:#}",
                path.display()
            ));
        }
    }
}

fn read(path: &Path) -> Remembered {
    match fs::read_to_string(path) {
        Ok(text) => match toml::from_str(&text) {
            Ok(remembered) => remembered,
            Err(err) => {
                crate::output::warn(&format!(
                    "ignoring {} (not valid: {})",
                    path.display(),
                    err.message()
                ));
                Remembered::default()
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Remembered::default(),
        Err(err) => {
            crate::output::warn(&format!("ignoring {}: {err}", path.display()));
            Remembered::default()
        }
    }
}

fn write(path: &Path, remembered: &Remembered) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no parent directory"))?;
    fs::create_dir_all(dir)?;
    let body = toml::to_string(remembered)?;
    // Write then rename, so two chatctl runs at once never leave half a file behind.
    let tmp = dir.join(format!(".config.toml.{}", std::process::id()));
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(HEADER.as_bytes())?;
        file.write_all(body.as_bytes())?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        let mut remembered = Remembered {
            user: Some("张三".into()),
            ..Remembered::default()
        };
        assert!(remembered.set_last_conversation("http://a/api/v1", "张三", 3));
        assert!(!remembered.set_last_conversation("http://a/api/v1", "张三", 3));
        assert!(remembered.set_last_conversation("http://a/api/v1", "张三", 4));
        remembered.set_last_conversation("http://b/api/v1", "张三", 9);
        remembered.daemon.model = Some("llama3.2".into());
        remembered.daemon.args = vec!["--echo-delay-ms".into(), "5".into()];
        write(&path, &remembered).unwrap();
        let back = read(&path);
        assert_eq!(back, remembered);
        assert_eq!(back.last_conversation("http://a/api/v1", "张三"), Some(4));
        assert_eq!(back.last_conversation("http://a/api/v1", "bob"), None);
        assert_eq!(
            back.daemon.chatd_args(),
            ["--model", "llama3.2", "--echo-delay-ms", "5"]
        );
    }

    #[test]
    fn a_corrupt_file_costs_only_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "user = [").unwrap();
        assert_eq!(read(&path), Remembered::default());
        assert_eq!(
            read(&dir.path().join("missing.toml")),
            Remembered::default()
        );
    }
}
