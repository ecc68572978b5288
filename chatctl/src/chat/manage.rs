//! The `/`-commands that change the current conversation: `/rename`, `/model` (picked
//! from `GET /models` with a fuzzy select on a terminal), `/system` and `/rm`, through
//! chatd's conversation management extensions. Against a server without them each says
//! so in one line, which ends a scripted session with exit 3 as `conv set` does.
//!
//! What they change is session business, so it is told on stderr (or as a `--json`
//! line); only the conversation itself goes to stdout.

use common::{ConversationSettings, UpdateConversationRequest};

use super::{Input, Session, SessionEvent, Turn, blocking_prompt, theme};
use crate::client::unsupported_or;
use crate::error::{Coded, Interrupted};
use crate::exit_codes::ExitCode;
use crate::output::{MESSAGE_INDENT, indent_lines, note};

/// `/system --clear`: back to chatd's own system prompt (`null` in the `PATCH`).
pub const CLEAR: &str = "--clear";
/// What `conv set` and these commands call the settings extension in their errors.
const SETTINGS: &str = "conversation settings";

impl Session<'_> {
    /// `/rename NAME`.
    pub(super) async fn rename(&mut self, name: &str) -> anyhow::Result<()> {
        let change = UpdateConversationRequest {
            name: Some(Some(name.to_string())),
            ..UpdateConversationRequest::default()
        };
        let settings = self.update(&change, "renaming conversations").await?;
        let said = format!(
            "renamed conversation {} to {:?}",
            settings.id,
            settings.name.as_deref().unwrap_or(name)
        );
        self.tell(&settings, &said)
    }

    /// `/model [NAME]`: without a name, a pick from the daemon's models on a terminal.
    pub(super) async fn model(&mut self, name: Option<&str>) -> anyhow::Result<()> {
        let model = match name {
            Some(name) => name.to_string(),
            None if matches!(self.input, Input::Terminal(_)) => match self.pick_model().await? {
                Some(model) => model,
                None => return Ok(()),
            },
            None => {
                return Err(Coded::usage(
                    "/model needs a NAME here: /model NAME (`chatctl models` lists them)",
                )
                .into());
            }
        };
        let change = UpdateConversationRequest {
            model: Some(Some(model)),
            ..UpdateConversationRequest::default()
        };
        let settings = self.update(&change, SETTINGS).await?;
        let said = format!(
            "conversation {} now answers with {}",
            settings.id, settings.model
        );
        self.tell(&settings, &said)
    }

    /// The model picked from `GET /models`, the current one preselected; `None` when the
    /// person left the picker (Esc, Ctrl-C).
    async fn pick_model(&mut self) -> anyhow::Result<Option<String>> {
        let client = &self.ctx.client;
        let Some(models) = client.models().await? else {
            return Err(crate::models::unsupported(client.server()));
        };
        let current = self.settings().await?.model;
        let names: Vec<String> = models
            .providers
            .into_iter()
            .flat_map(|provider| provider.models)
            .collect();
        if names.is_empty() {
            return Err(Coded {
                code: ExitCode::Failure,
                message: "the daemon lists no models (`chatctl models` says why); name one: \
                          /model NAME"
                    .into(),
            }
            .into());
        }
        let items: Vec<String> = names
            .iter()
            .map(|name| {
                let marks: Vec<&str> = [
                    (*name == current, "current"),
                    (*name == models.default, "default"),
                ]
                .into_iter()
                .filter_map(|(applies, mark)| applies.then_some(mark))
                .collect();
                if marks.is_empty() {
                    name.clone()
                } else {
                    format!("{name}  ({})", marks.join(", "))
                }
            })
            .collect();
        let default = names.iter().position(|n| *n == current).unwrap_or(0);
        let color = self.color;
        let choice = left_is_none(
            blocking_prompt(move || {
                dialoguer::FuzzySelect::with_theme(theme(color).as_ref())
                    .with_prompt("Model (type to filter)")
                    .items(&items)
                    .default(default)
                    .interact_opt()
            })
            .await,
        )?;
        Ok(choice.and_then(|i| names.get(i).cloned()))
    }

    /// `/system [TEXT|--clear]`: without text, shows the prompt a chat would use now.
    pub(super) async fn system(&mut self, text: Option<&str>) -> anyhow::Result<()> {
        let id = self.conversation_id;
        let (settings, said) = match text {
            None => {
                let settings = self.settings().await?;
                let said = describe_system_prompt(&settings);
                (settings, said)
            }
            Some(CLEAR) => {
                let change = UpdateConversationRequest {
                    system_prompt: Some(None),
                    ..UpdateConversationRequest::default()
                };
                let settings = self.update(&change, SETTINGS).await?;
                let said = describe_system_prompt(&settings);
                (settings, said)
            }
            Some(text) => {
                let change = UpdateConversationRequest {
                    system_prompt: Some(Some(text.to_string())),
                    ..UpdateConversationRequest::default()
                };
                let settings = self.update(&change, SETTINGS).await?;
                (settings, format!("system prompt of conversation {id} set"))
            }
        };
        self.tell(&settings, &said)
    }

    /// `/rm [--yes]`: deletes the current conversation, after asking on a terminal, and
    /// goes on in a new one, as chat apps do after deleting the open chat. A session
    /// opened without a user has nobody to start one for, so it ends.
    pub(super) async fn remove(&mut self, arg: Option<&str>) -> anyhow::Result<Turn> {
        let yes = match arg {
            None => false,
            Some("--yes" | "-y") => true,
            Some(other) => {
                return Err(Coded::usage(format!(
                    "/rm deletes this conversation and takes only --yes, not {other:?}"
                ))
                .into());
            }
        };
        let id = self.conversation_id;
        if !yes {
            if !matches!(self.input, Input::Terminal(_)) {
                return Err(Coded::usage(
                    "refusing to delete without confirmation: there is no terminal to ask \
                     on; say /rm --yes in a script",
                )
                .into());
            }
            let color = self.color;
            let question = format!("Delete conversation {id} and all its messages?");
            let sure = left_is_none(
                blocking_prompt(move || {
                    dialoguer::Confirm::with_theme(theme(color).as_ref())
                        .with_prompt(question)
                        .default(false)
                        .interact_opt()
                })
                .await,
            )?;
            if sure != Some(true) {
                note("nothing deleted");
                return Ok(Turn::Continue);
            }
        }
        let client = &self.ctx.client;
        client
            .delete_conversation(id)
            .await
            .map_err(|err| unsupported_or(err, client.server(), "deleting conversations"))
            .map_err(|err| err.context(format!("could not delete conversation {id}")))?;
        let out = &self.ctx.out;
        if out.json {
            out.json_line(&SessionEvent::Deleted {
                conversation_id: id,
            })?;
        }
        if self.user.is_none() {
            if !out.json {
                note(&format!(
                    "deleted conversation {id}; leaving (no user to start a new one for, \
                     see --user)"
                ));
            }
            return Ok(Turn::Quit);
        }
        if !out.json {
            note(&format!(
                "deleted conversation {id}; going on in a new conversation"
            ));
        }
        let new = self.create(None).await?;
        self.open(new).await?;
        Ok(Turn::Continue)
    }

    /// `PATCH`es the current conversation; `what` names the feature for a server
    /// without it.
    pub(super) async fn update(
        &self,
        change: &UpdateConversationRequest,
        what: &str,
    ) -> anyhow::Result<ConversationSettings> {
        let id = self.conversation_id;
        let client = &self.ctx.client;
        client
            .update_conversation(id, change)
            .await
            .map_err(|err| unsupported_or(err, client.server(), what))
            .map_err(|err| err.context(format!("could not change conversation {id}")))
    }

    async fn settings(&self) -> anyhow::Result<ConversationSettings> {
        let id = self.conversation_id;
        let client = &self.ctx.client;
        client
            .conversation_settings(id)
            .await
            .map_err(|err| unsupported_or(err, client.server(), SETTINGS))
            .map_err(|err| err.context(format!("could not read the settings of conversation {id}")))
    }

    /// Says what changed: `said` on stderr, or the settings as a `--json` line.
    fn tell(&self, settings: &ConversationSettings, said: &str) -> anyhow::Result<()> {
        let out = &self.ctx.out;
        if out.json {
            out.json_line(&SessionEvent::Settings(settings))?;
        } else {
            note(said);
        }
        Ok(())
    }
}

/// The system prompt a chat would use now, and whose it is.
fn describe_system_prompt(settings: &ConversationSettings) -> String {
    let whose = if settings.defaults.iter().any(|d| d == "system_prompt") {
        " (chatd's default)"
    } else {
        ""
    };
    match &settings.system_prompt {
        None => format!("conversation {} has no system prompt{whose}", settings.id),
        Some(text) => format!(
            "system prompt of conversation {}{whose}:\n{}",
            settings.id,
            indent_lines(text.trim_end_matches('\n'), MESSAGE_INDENT)
        ),
    }
}

/// A picker or question left with Ctrl-C answers nothing, as Esc does, rather than
/// ending the session.
fn left_is_none<T>(answer: anyhow::Result<Option<T>>) -> anyhow::Result<Option<T>> {
    match answer {
        Err(err) if err.is::<Interrupted>() => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use common::ChatParams;

    use super::*;

    fn settings(system_prompt: Option<&str>, defaults: &[&str]) -> ConversationSettings {
        ConversationSettings {
            id: 4,
            name: None,
            model: "echo/echo".into(),
            system_prompt: system_prompt.map(str::to_owned),
            params: ChatParams::default(),
            title_source: None,
            defaults: defaults.iter().map(|d| d.to_string()).collect(),
            active_leaf_id: None,
        }
    }

    #[test]
    fn the_system_prompt_is_shown_with_whose_it_is() {
        assert_eq!(
            describe_system_prompt(&settings(None, &["system_prompt"])),
            "conversation 4 has no system prompt (chatd's default)"
        );
        assert_eq!(
            describe_system_prompt(&settings(Some("Be brief.\nBe kind.\n"), &[])),
            "system prompt of conversation 4:\n  Be brief.\n  Be kind."
        );
    }
}
