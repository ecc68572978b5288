//! `chatctl models`: the models of every provider the daemon knows (chatd's
//! `GET /models` extension), one per line with its provider, the default marked; a
//! provider that could not be asked is shown with why.

use common::ModelsResponse;

use crate::context::Ctx;
use crate::error::Coded;
use crate::exit_codes::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  chatctl models
  chatctl --json models | jq -r '.providers[].models[]'";

#[derive(Debug, clap::Args)]
pub struct Args {}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let Some(models) = ctx.client.models().await? else {
            return Err(unsupported(ctx.client.server()));
        };
        if ctx.out.json {
            return Ok(ctx.out.json(&models)?);
        }
        let out = &ctx.out;
        for (model, note) in rows(&models) {
            if note.is_empty() {
                out.line(&model)?;
            } else {
                out.line(&format!("{model}  {}", out.dim(&note)))?;
            }
        }
        Ok(())
    }
}

/// The one line for a server without `GET /models` (exit 3).
pub fn unsupported(server: &str) -> anyhow::Error {
    Coded {
        code: ExitCode::NotFound,
        message: format!(
            "the server at {server} does not support listing models (it has no GET /models)"
        ),
    }
    .into()
}

/// The table's rows: a model (padded to the widest) and what to say of it.
fn rows(models: &ModelsResponse) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for provider in &models.providers {
        for model in &provider.models {
            let mut notes = Vec::new();
            if *model == models.default {
                notes.push("default".to_string());
            }
            if provider.accepts_any_model {
                notes.push(format!("{} accepts any model name", provider.name));
            }
            rows.push((model.clone(), notes.join("; ")));
        }
        if let Some(error) = &provider.error {
            rows.push((
                format!("{}/…", provider.name),
                format!("cannot be listed: {error}"),
            ));
        } else if provider.models.is_empty() {
            rows.push((format!("{}/…", provider.name), "lists no models".into()));
        }
    }
    let width = rows
        .iter()
        .map(|(model, _)| model.chars().count())
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|(model, note)| {
            let padded = if note.is_empty() {
                model
            } else {
                format!("{model:<width$}")
            };
            (padded, note)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use common::ProviderModels;

    use super::*;

    #[test]
    fn every_model_is_a_row_and_a_provider_that_is_down_says_why() {
        let provider = |name: &str, models: &[&str], error: Option<&str>| ProviderModels {
            name: name.into(),
            kind: "openai".into(),
            base_url: Some("http://127.0.0.1:9/v1".into()),
            default: name == "openai",
            models: models.iter().map(|m| m.to_string()).collect(),
            accepts_any_model: false,
            error: error.map(str::to_owned),
        };
        let models = ModelsResponse {
            default: "openai/gpt-4o-mini".into(),
            providers: vec![
                provider("openai", &["openai/gpt-4o-mini", "openai/o1"], None),
                provider("ollama", &[], Some("connection refused")),
            ],
        };
        let rows = rows(&models);
        assert_eq!(
            rows,
            [
                ("openai/gpt-4o-mini".to_string(), "default".to_string()),
                ("openai/o1".to_string(), String::new()),
                (
                    "ollama/…          ".to_string(),
                    "cannot be listed: connection refused".to_string()
                ),
            ]
        );
    }
}
