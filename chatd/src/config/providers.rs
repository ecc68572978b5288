//! The providers of the configuration file: `[providers.NAME]` tables beside the one
//! provider the flags configure, and `default_provider`. Keys never come from the file:
//! a table names the environment variable that holds its key (`api_key_env`), and a
//! key-looking field is refused with a message saying so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ProviderKind, Settings};

/// Where the flags' provider reads its key, as the 401 advice says it.
pub const FLAG_KEY_SOURCE: &str = "CHATD_OPENAI_API_KEY or OPENAI_API_KEY";

/// Fields a person may write a key into by mistake.
const KEY_LIKE_FIELDS: &[&str] = &[
    "api_key",
    "apikey",
    "key",
    "openai_api_key",
    "token",
    "api_token",
    "secret",
    "password",
    "bearer",
];

/// One `[providers.NAME]` table as written. Its `Debug` leaves the header values out:
/// they may hold secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// `openai` (any OpenAI-compatible API) or `echo`.
    pub kind: ProviderKind,
    /// The API's base URL, e.g. `http://127.0.0.1:11434/v1`; required for `openai`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Extra headers sent with every request to this provider.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The models to list for it, for servers without `GET /models`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field(
                "headers (values redacted)",
                &self.headers.keys().collect::<Vec<_>>(),
            )
            .field("models", &self.models)
            .finish()
    }
}

/// A provider chatd runs with, checked, its key read.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_key: Option<String>,
    /// The environment variable(s) the key comes from; `None` when the table names
    /// none (a local server that needs no key).
    pub key_source: Option<String>,
    pub headers: Vec<(String, String)>,
    pub models: Option<Vec<String>>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("key_source", &self.key_source)
            .field("headers (values redacted)", &header_names)
            .field("models", &self.models)
            .finish()
    }
}

/// Refuses a key written into the file, before the file is read as settings (whose
/// own error would only say the field is unknown).
pub fn refuse_keys_in_file(table: &toml::Table) -> Result<(), String> {
    let advice = "API keys are never read from the configuration file: put the key in an \
                  environment variable and name the variable with api_key_env = \"VARIABLE\"";
    for field in KEY_LIKE_FIELDS {
        if table.contains_key(*field) {
            return Err(format!("{field}: {advice}"));
        }
    }
    let Some(toml::Value::Table(providers)) = table.get("providers") else {
        return Ok(());
    };
    for (name, entry) in providers {
        let toml::Value::Table(entry) = entry else {
            continue;
        };
        for field in KEY_LIKE_FIELDS {
            if entry.contains_key(*field) {
                return Err(format!("providers.{name}.{field}: {advice}"));
            }
        }
    }
    Ok(())
}

/// A provider name people can type in `NAME/MODEL`: letters, digits, `-`, `_`, `.`.
fn check_name(name: &str) -> Result<(), ConfigError> {
    let fits = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "providers.{name:?}: a provider's name is 1 to 64 letters, digits, '-', '_' or \
             '.' (it is the PROVIDER of PROVIDER/MODEL)"
        )))
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The providers chatd runs with: the flags' one first (named after its kind), unless
/// the file has a provider of that name, which then stands in its place; then the
/// file's, by name. Returns them with the default provider's name.
pub fn resolve(
    settings: &Settings,
    flag_api_key: Option<String>,
    env_key: &impl Fn(&str) -> Option<String>,
) -> Result<(Vec<ProviderConfig>, String), ConfigError> {
    let flag_name = flag_provider_name(settings.provider);
    let mut providers = Vec::new();
    if !settings.providers.contains_key(flag_name) {
        providers.push(ProviderConfig {
            name: flag_name.to_string(),
            kind: settings.provider,
            base_url: settings.openai_base_url.clone(),
            api_key: flag_api_key,
            key_source: Some(FLAG_KEY_SOURCE.into()),
            headers: Vec::new(),
            models: None,
        });
    }
    for (name, entry) in &settings.providers {
        check_name(name)?;
        let invalid = |what: String| ConfigError::Invalid(format!("providers.{name}: {what}"));
        let base_url = match (&entry.base_url, entry.kind) {
            (Some(url), _) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| invalid(format!("base_url {url:?} is not a URL ({e})")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(format!("base_url {url:?} is not http or https")));
                }
                url.clone()
            }
            (None, ProviderKind::Openai) => {
                return Err(invalid(
                    "an openai provider needs base_url, e.g. \"http://127.0.0.1:11434/v1\"".into(),
                ));
            }
            (None, ProviderKind::Echo) => String::new(),
        };
        let (api_key, key_source) = match &entry.api_key_env {
            Some(variable) if !is_variable_name(variable) => {
                return Err(invalid(format!(
                    "api_key_env names the environment variable holding the key; {variable:?} \
                     is no variable name"
                )));
            }
            Some(variable) => (
                env_key(variable).filter(|key| !key.is_empty()),
                Some(variable.clone()),
            ),
            None => (None, None),
        };
        if let Some(models) = &entry.models
            && models.iter().any(|m| m.trim().is_empty())
        {
            return Err(invalid("models must not hold an empty name".into()));
        }
        providers.push(ProviderConfig {
            name: name.clone(),
            kind: entry.kind,
            base_url,
            api_key,
            key_source,
            headers: entry
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            models: entry.models.clone(),
        });
    }
    let default = settings
        .default_provider
        .clone()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| flag_name.to_string());
    if !providers.iter().any(|p| p.name == default) {
        let names: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
        return Err(ConfigError::Invalid(format!(
            "default_provider {default:?} is no configured provider (they are: {})",
            names.join(", ")
        )));
    }
    Ok((providers, default))
}

/// The name of the provider `--provider` configures.
pub fn flag_provider_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Echo => "echo",
        ProviderKind::Openai => "openai",
    }
}
