//! The providers chatd is configured with, by name: the one the flags configure (named
//! after its kind, `echo` or `openai`) and those of the configuration file's
//! `[providers.NAME]` tables. A conversation's model string is `PROVIDER/MODEL` when
//! the part before the first `/` names a provider, else a model of the default
//! provider (model names may hold `/` themselves, as vLLM's `meta-llama/Llama-3.1-8B`).
//!
//! Model lists come from each provider's `GET /models` (or the `models` its
//! configuration lists), asked concurrently with a short timeout and kept briefly, so
//! `GET /models` and the checks of `POST`/`PATCH` cost a provider little. A provider
//! that cannot be asked is listed with its error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ModelsResponse, ProviderModels};

use super::{Provider, ReplyRequest};

/// How long a provider's `GET /models` may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a list is kept.
const LIST_KEPT: Duration = Duration::from_secs(60);
/// How long a failure to list is kept: short, so a provider that comes back is seen
/// soon, but long enough that a page asking often does not wait on a dead one each time.
const FAILURE_KEPT: Duration = Duration::from_secs(5);
/// Models named in an error message at most.
const CHOICES_SHOWN: usize = 20;

/// One configured provider.
#[derive(Debug)]
pub struct NamedProvider {
    pub name: String,
    pub provider: Provider,
    /// The models the configuration lists, used instead of asking the provider.
    listed: Option<Arc<Vec<String>>>,
    /// The last answer of the provider's `GET /models`; locked while asking, so
    /// concurrent readers wait for one request instead of each sending their own.
    kept: tokio::sync::Mutex<Option<Kept>>,
}

#[derive(Debug)]
struct Kept {
    at: Instant,
    models: Result<Arc<Vec<String>>, String>,
}

impl NamedProvider {
    pub fn new(name: String, provider: Provider, listed: Option<Vec<String>>) -> NamedProvider {
        NamedProvider {
            name,
            provider,
            listed: listed.map(Arc::new),
            kept: tokio::sync::Mutex::new(None),
        }
    }

    /// Echo answers whatever model it is asked for.
    pub fn accepts_any_model(&self) -> bool {
        !matches!(self.provider, Provider::OpenAi(_))
    }

    pub fn base_url(&self) -> Option<&str> {
        match &self.provider {
            Provider::OpenAi(provider) => Some(provider.base_url()),
            _ => None,
        }
    }

    /// The provider's model names (without the `NAME/` prefix), or why they are unknown.
    pub async fn models(&self) -> Result<Arc<Vec<String>>, String> {
        if let Some(listed) = &self.listed {
            return Ok(listed.clone());
        }
        let Provider::OpenAi(provider) = &self.provider else {
            return Ok(Arc::new(vec!["echo".to_string()]));
        };
        let mut kept = self.kept.lock().await;
        if let Some(answer) = kept.as_ref() {
            let lasts = if answer.models.is_ok() {
                LIST_KEPT
            } else {
                FAILURE_KEPT
            };
            if answer.at.elapsed() < lasts {
                return answer.models.clone();
            }
        }
        let models = provider.list_models(LIST_TIMEOUT).await.map(Arc::new);
        *kept = Some(Kept {
            at: Instant::now(),
            models: models.clone(),
        });
        models
    }
}

/// A model string that names no model chatd can reach; the text names the choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownModel(pub String);

/// A model string resolved: the provider, and the model's name as that provider knows it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub provider: Arc<NamedProvider>,
    pub model: String,
}

impl Resolved {
    /// The model as conversations address it: `PROVIDER/MODEL`.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.provider.name, self.model)
    }

    pub fn request(&self, params: common::ChatParams, history: Vec<super::Turn>) -> ReplyRequest {
        ReplyRequest {
            model: self.model.clone(),
            params,
            history,
        }
    }
}

/// Every configured provider, and which is the default.
#[derive(Debug)]
pub struct Providers {
    providers: Vec<Arc<NamedProvider>>,
    default: usize,
    /// The default provider's model used when a conversation names none.
    default_model: String,
}

impl Providers {
    /// `providers` in the order they are listed; `default` names one of them.
    pub fn new(
        providers: Vec<NamedProvider>,
        default: &str,
        default_model: String,
    ) -> Result<Providers, String> {
        let names = || {
            providers
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let index = providers
            .iter()
            .position(|p| p.name == default)
            .ok_or_else(|| {
                format!(
                    "default_provider {default:?} is no configured provider (they are: {})",
                    names()
                )
            })?;
        Ok(Providers {
            providers: providers.into_iter().map(Arc::new).collect(),
            default: index,
            default_model,
        })
    }

    /// One provider, named after its kind, the default.
    pub fn single(provider: Provider, default_model: &str) -> Providers {
        let name = provider.kind().to_string();
        Providers {
            providers: vec![Arc::new(NamedProvider::new(name, provider, None))],
            default: 0,
            default_model: default_model.to_string(),
        }
    }

    pub fn default_provider(&self) -> &Arc<NamedProvider> {
        &self.providers[self.default]
    }

    /// The model of a conversation that names none, as `PROVIDER/MODEL`.
    pub fn default_model(&self) -> String {
        format!("{}/{}", self.default_provider().name, self.default_model)
    }

    pub fn names(&self) -> Vec<String> {
        self.providers.iter().map(|p| p.name.clone()).collect()
    }

    fn named(&self, name: &str) -> Option<&Arc<NamedProvider>> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Which provider and model a conversation's model string (`None`: chatd's default)
    /// addresses. Never fails: a string that names no provider is a model of the
    /// default one, which says at chat time whether it has it.
    pub fn resolve(&self, model: Option<&str>) -> Resolved {
        let Some(model) = model else {
            return Resolved {
                provider: self.default_provider().clone(),
                model: self.default_model.clone(),
            };
        };
        if let Some((name, rest)) = model.split_once('/')
            && !rest.is_empty()
            && let Some(provider) = self.named(name)
        {
            return Resolved {
                provider: provider.clone(),
                model: rest.to_string(),
            };
        }
        Resolved {
            provider: self.default_provider().clone(),
            model: model.to_string(),
        }
    }

    /// Whether `model` names a model chatd can reach, as far as its provider can tell:
    /// a provider whose list cannot be had now accepts any name, except a name with a
    /// `/` on the default provider whose first part names no provider (most likely a
    /// provider misspelt). Echo accepts any name without such a prefix.
    pub async fn check_model(&self, model: &str) -> Result<(), UnknownModel> {
        let resolved = self.resolve(Some(model));
        let provider = &resolved.provider;
        let on_default = Arc::ptr_eq(provider, self.default_provider()) && resolved.model == model;
        let unknown_prefix = on_default
            .then(|| model.split_once('/').map(|(prefix, _)| prefix))
            .flatten();
        let no_such_provider = |prefix: &str| {
            format!(
                "no provider is named {prefix:?} (the providers are: {}; a model without a \
                 provider is the default provider {:?}'s)",
                self.names().join(", "),
                provider.name
            )
        };
        if provider.accepts_any_model() {
            return match unknown_prefix {
                Some(prefix) => Err(UnknownModel(no_such_provider(prefix))),
                None => Ok(()),
            };
        }
        match provider.models().await {
            Ok(models) if models.contains(&resolved.model) => Ok(()),
            Ok(models) => {
                let mut text = format!(
                    "the provider {:?} has no model {:?}; its models are: {}",
                    provider.name,
                    resolved.model,
                    choices(&provider.name, &models)
                );
                if let Some(prefix) = unknown_prefix {
                    text = format!("{}, and {text}", no_such_provider(prefix));
                }
                Err(UnknownModel(text))
            }
            Err(why) => match unknown_prefix {
                Some(prefix) => Err(UnknownModel(format!(
                    "{}, and the models of {:?} cannot be listed now ({why})",
                    no_such_provider(prefix),
                    provider.name
                ))),
                None => Ok(()),
            },
        }
    }

    /// `GET /models`: every provider's models, asked concurrently.
    pub async fn models(&self) -> ModelsResponse {
        let lists = futures_util::future::join_all(self.providers.iter().map(|p| p.models())).await;
        let providers = self
            .providers
            .iter()
            .zip(lists)
            .enumerate()
            .map(|(index, (provider, list))| {
                let (models, error) = match list {
                    Ok(models) => (
                        models
                            .iter()
                            .map(|m| format!("{}/{m}", provider.name))
                            .collect(),
                        None,
                    ),
                    Err(why) => (Vec::new(), Some(why)),
                };
                ProviderModels {
                    name: provider.name.clone(),
                    kind: provider.provider.kind().to_string(),
                    base_url: provider.base_url().map(str::to_owned),
                    default: index == self.default,
                    models,
                    accepts_any_model: provider.accepts_any_model(),
                    error,
                }
            })
            .collect();
        ModelsResponse {
            default: self.default_model(),
            providers,
        }
    }
}

/// Up to `CHOICES_SHOWN` models as `NAME/MODEL`, and how many more there are.
fn choices(name: &str, models: &[String]) -> String {
    if models.is_empty() {
        return "none".into();
    }
    let mut shown: Vec<String> = models
        .iter()
        .take(CHOICES_SHOWN)
        .map(|m| format!("{name}/{m}"))
        .collect();
    if models.len() > CHOICES_SHOWN {
        shown.push(format!("and {} more", models.len() - CHOICES_SHOWN));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::EchoProvider;

    fn echo(name: &str, listed: Option<Vec<String>>) -> NamedProvider {
        NamedProvider::new(name.into(), Provider::Echo(EchoProvider::default()), listed)
    }

    fn listing(name: &str, models: &[&str]) -> NamedProvider {
        let provider =
            crate::providers::OpenAiProvider::new(crate::providers::openai::OpenAiSettings {
                base_url: "http://127.0.0.1:9/v1".into(),
                connect_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(1),
                max_event_bytes: 1 << 20,
                ..Default::default()
            })
            .unwrap();
        NamedProvider::new(
            name.into(),
            Provider::OpenAi(provider),
            Some(models.iter().map(|m| m.to_string()).collect()),
        )
    }

    fn providers() -> Providers {
        Providers::new(
            vec![
                listing("openai", &["gpt-4o-mini", "meta-llama/Llama-3.1-8B"]),
                listing("ollama", &["llama3.2"]),
                echo("echo", None),
            ],
            "openai",
            "gpt-4o-mini".into(),
        )
        .unwrap()
    }

    #[test]
    fn model_strings_resolve_to_a_provider_and_a_name() {
        let providers = providers();
        let cases = [
            (None, "openai", "gpt-4o-mini"),
            (Some("ollama/llama3.2"), "ollama", "llama3.2"),
            (Some("gpt-4o"), "openai", "gpt-4o"),
            (
                Some("meta-llama/Llama-3.1-8B"),
                "openai",
                "meta-llama/Llama-3.1-8B",
            ),
            (Some("openai/meta-llama/x"), "openai", "meta-llama/x"),
            (Some("ollama/"), "openai", "ollama/"),
            (Some("echo/anything at all"), "echo", "anything at all"),
        ];
        for (model, provider, name) in cases {
            let resolved = providers.resolve(model);
            assert_eq!(
                (resolved.provider.name.as_str(), resolved.model.as_str()),
                (provider, name),
                "{model:?}"
            );
        }
        assert_eq!(providers.default_model(), "openai/gpt-4o-mini");
        assert!(Providers::new(vec![echo("a", None)], "b", "m".into()).is_err());
    }

    #[tokio::test]
    async fn unknown_models_and_providers_are_named_with_the_choices() {
        let providers = providers();
        for good in [
            "ollama/llama3.2",
            "openai/gpt-4o-mini",
            "gpt-4o-mini",
            "meta-llama/Llama-3.1-8B",
            "echo/whatever",
        ] {
            assert_eq!(providers.check_model(good).await, Ok(()), "{good}");
        }
        let error = providers.check_model("ollama/mistral").await.unwrap_err();
        assert_eq!(
            error.0,
            "the provider \"ollama\" has no model \"mistral\"; its models are: ollama/llama3.2"
        );
        let error = providers.check_model("olama/llama3.2").await.unwrap_err();
        assert!(
            error.0.starts_with(
                "no provider is named \"olama\" (the providers are: openai, ollama, echo;"
            ),
            "{error}"
        );
        assert!(error.0.contains("openai/gpt-4o-mini"), "{error}");

        let on_echo = Providers::new(vec![echo("echo", None)], "echo", "echo".into()).unwrap();
        assert_eq!(on_echo.check_model("any name").await, Ok(()));
        assert!(on_echo.check_model("nosuch/model").await.is_err());
        let listed = on_echo.models().await;
        assert_eq!(listed.default, "echo/echo");
        assert_eq!(listed.providers[0].models, ["echo/echo"]);
        assert!(listed.providers[0].accepts_any_model);
    }

    #[test]
    fn long_lists_of_choices_are_cut() {
        let models: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
        let shown = choices("p", &models);
        assert!(shown.starts_with("p/m0, p/m1"), "{shown}");
        assert!(shown.ends_with("p/m19, and 5 more"), "{shown}");
        assert_eq!(choices("p", &[]), "none");
    }
}
