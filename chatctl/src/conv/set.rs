//! `chatctl conv set ID [--model M] [--system-prompt TEXT | --system-prompt-file F]
//! [--temperature T]` (`PATCH /conversations/{id}`), and how a conversation's settings
//! are shown to people.

use std::path::PathBuf;

use anyhow::Context as _;
use common::{ConversationSettings, UpdateConversationRequest};

use crate::client::unsupported_or;
use crate::context::Ctx;
use crate::error::Coded;
use crate::output::Out;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv set 12 --model ollama/llama3.2
  chatctl conv set 12 --system-prompt 'Answer in French.' --temperature 0.2
  chatctl conv set 12 --system-prompt-file prompt.txt";

/// Exits 0 once changed, 2 when nothing is given to change or the server refuses a
/// value (an unknown model, a temperature outside 0-2), 3 when the conversation does
/// not exist or the server does not support settings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation's id.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::conversations))]
    pub id: i64,
    /// The model to answer it: PROVIDER/MODEL, or a model of the default provider.
    #[arg(
        long,
        value_name = "M",
        add = clap_complete::ArgValueCandidates::new(crate::completions::dynamic::models)
    )]
    pub model: Option<String>,
    /// Its system prompt, sent before its history instead of chatd's.
    #[arg(long, value_name = "TEXT", conflicts_with = "system_prompt_file")]
    pub system_prompt: Option<String>,
    /// Its system prompt, read from a file.
    #[arg(long, value_name = "F")]
    pub system_prompt_file: Option<PathBuf>,
    /// Its sampling temperature, 0 to 2.
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.known_user().await?;
        ctx.refuse_if_not_theirs(self.id, user.as_ref()).await?;
        let server = ctx.client.server().to_string();
        let unsupported = |err| unsupported_or(err, &server, "conversation settings");
        let system_prompt = match (self.system_prompt, &self.system_prompt_file) {
            (Some(text), _) => Some(text),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("could not read {}", path.display()))?,
            ),
            (None, None) => None,
        };
        if self.model.is_none() && system_prompt.is_none() && self.temperature.is_none() {
            return Err(Coded::usage(
                "nothing to set: give --model, --system-prompt (or --system-prompt-file) or \
                 --temperature",
            )
            .into());
        }
        let context = || format!("could not change conversation {}", self.id);
        // `params` is replaced as a whole: keep the conversation's other parameters.
        let params = match self.temperature {
            None => None,
            Some(temperature) => {
                let current = ctx
                    .client
                    .conversation_settings(self.id)
                    .await
                    .map_err(unsupported)
                    .with_context(context)?;
                let mut params = current.params;
                params.temperature = Some(temperature);
                Some(Some(params))
            }
        };
        let change = UpdateConversationRequest {
            name: None,
            model: self.model.map(Some),
            system_prompt: system_prompt.map(Some),
            params,
            active_leaf_id: None,
        };
        let settings = ctx
            .client
            .update_conversation(self.id, &change)
            .await
            .map_err(unsupported)
            .with_context(context)?;
        if ctx.out.json {
            ctx.out.json(&settings)?;
        } else {
            print_settings(&ctx.out, &settings)?;
        }
        Ok(())
    }
}

/// A conversation's settings, one per line, chatd's defaults marked as such.
pub fn print_settings(out: &Out, settings: &ConversationSettings) -> std::io::Result<()> {
    let marked = |field: &str, value: String| {
        if settings.defaults.iter().any(|d| d == field) {
            format!("{value} {}", out.dim("(default)"))
        } else {
            value
        }
    };
    out.line(&format!(
        "conversation {}{}",
        out.bold(&settings.id.to_string()),
        settings
            .name
            .as_deref()
            .map(|n| format!(" {n:?}"))
            .unwrap_or_default()
    ))?;
    out.line(&format!(
        "  model:         {}",
        marked("model", settings.model.clone())
    ))?;
    let prompt = match &settings.system_prompt {
        Some(text) => format!("{:?}", text.chars().take(200).collect::<String>()),
        None => "none".into(),
    };
    out.line(&format!(
        "  system prompt: {}",
        marked("system_prompt", prompt)
    ))?;
    let params = serde_json::to_string(&settings.params).unwrap_or_default();
    out.line(&format!("  params:        {}", marked("params", params)))
}
