//! Titles for conversations nobody named. After the first complete reply in a
//! conversation without a name, the reply task hands it here and goes on: the title is
//! made in a task of its own, so the chat is never delayed. By default it is the first
//! line of the user's first message, cut at a word; with `--titles model`, a short
//! request to the provider (bounded in time and size, its answer cleaned up), falling
//! back to the first line on any failure. The title is written with one conditional
//! UPDATE (`WHERE name IS NULL`), so a name the user sets meanwhile always wins, and a
//! title stored is announced on the feed (`conversation.updated`), as a rename is.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::config::TitleMode;
use crate::providers::registry::Resolved;
use crate::providers::{Delta, Providers, Turn};
use crate::store::{Store, TitleInputs};

/// The longest title, in characters, ellipsis included.
pub const TITLE_MAX_CHARS: usize = 60;
/// How long the model may take to answer a title request.
const MODEL_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the model's answer is read; a title is far shorter.
const MODEL_ANSWER_MAX_BYTES: usize = 2048;
/// How much of the user's message goes into the title request.
const MODEL_INPUT_MAX_CHARS: usize = 2000;

const TITLE_INSTRUCTIONS: &str = "Write a title of at most six words for a conversation \
    that begins with the user's message below. Answer with the title alone, in the \
    message's language: no quotes, no final punctuation, no explanation.";

/// Makes titles; cheap to clone into each task.
#[derive(Debug, Clone)]
pub struct Titles {
    mode: TitleMode,
    store: Store,
    /// Asked with `--titles model`: the model `--title-model` names, else the
    /// conversation's.
    providers: Arc<Providers>,
    title_model: Option<String>,
    /// Where a title stored is announced.
    feed: Option<crate::events::Feed>,
}

impl Titles {
    pub fn new(
        mode: TitleMode,
        store: Store,
        providers: Arc<Providers>,
        title_model: Option<String>,
    ) -> Titles {
        Titles {
            mode,
            store,
            providers,
            title_model,
            feed: None,
        }
    }

    /// Announces each title stored on `feed`.
    pub fn with_feed(mut self, feed: crate::events::Feed) -> Titles {
        self.feed = Some(feed);
        self
    }

    /// Titles the conversation in the background, unless titles are off; `model` is
    /// the model its reply came from.
    pub fn spawn(&self, conversation_id: i64, model: &Resolved) {
        if self.mode == TitleMode::Off {
            return;
        }
        let model = match &self.title_model {
            Some(title_model) => self.providers.resolve(Some(title_model)),
            None => model.clone(),
        };
        let this = self.clone();
        tokio::spawn(async move { this.title(conversation_id, model).await });
    }

    async fn title(self, conversation_id: i64, model: Resolved) {
        let inputs = match self.store.title_inputs(conversation_id).await {
            Ok(Some(inputs)) => inputs,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(conversation_id, "could not read what to title: {e}");
                return;
            }
        };
        if inputs.name.is_some() {
            return;
        }
        let Some(first_line) = inputs
            .first_user_message
            .as_deref()
            .and_then(first_line_title)
        else {
            return;
        };
        let (title, source) = match self.mode {
            TitleMode::Model => match ask_model(&model, &inputs).await {
                Ok(title) => (title, "model"),
                Err(why) => {
                    tracing::info!(
                        conversation_id,
                        "no title from the model ({why}); using the first line"
                    );
                    (first_line, "first_line")
                }
            },
            TitleMode::FirstLine | TitleMode::Off => (first_line, "first_line"),
        };
        match self.store.set_title(conversation_id, title, source).await {
            Ok(true) => {
                if let Some(feed) = &self.feed {
                    feed.announce(crate::events::Event::ConversationUpdated {
                        conversation_id,
                        user_id: inputs.user_id,
                    });
                }
            }
            Ok(false) => tracing::debug!(
                conversation_id,
                "the conversation was named meanwhile; its name is kept"
            ),
            Err(e) => tracing::warn!(conversation_id, "could not store the title: {e}"),
        }
    }
}

/// The model's title, cleaned up; why not, when it gives none in time.
async fn ask_model(model: &Resolved, inputs: &TitleInputs) -> Result<String, String> {
    let message: String = inputs
        .first_user_message
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(MODEL_INPUT_MAX_CHARS)
        .collect();
    let turns = vec![
        Turn {
            role: "system",
            content: TITLE_INSTRUCTIONS.into(),
        },
        Turn {
            role: "user",
            content: message.into(),
        },
    ];
    let answer = tokio::time::timeout(MODEL_TIMEOUT, async {
        let request = model.request(common::ChatParams::default(), turns);
        let mut deltas = model
            .provider
            .provider
            .stream(request)
            .await
            .map_err(|e| e.0)?;
        let mut answer = String::new();
        while let Some(delta) = deltas.next().await {
            match delta.map_err(|e| e.0)? {
                Delta::Text(text) => answer.push_str(&text),
                Delta::End(_) => break,
                // Reasoning is no title; model names and usage say nothing of it.
                Delta::Reasoning(_) | Delta::Model(_) | Delta::Usage(_) | Delta::ToolCalls(_) => {}
            }
            if answer.len() >= MODEL_ANSWER_MAX_BYTES {
                break;
            }
        }
        Ok::<_, String>(answer)
    })
    .await
    .map_err(|_| format!("no answer within {} s", MODEL_TIMEOUT.as_secs()))??;
    clean_model_title(&answer).ok_or_else(|| "its answer holds no title".to_string())
}

/// The first line with text of a message, as a title; `None` when it has no text.
pub fn first_line_title(message: &str) -> Option<String> {
    let line = message.lines().find(|line| !line.trim().is_empty())?;
    Some(cut_at_word(&collapse_blanks(line), TITLE_MAX_CHARS))
}

/// A model's answer as a title: reasoning in `<think>` blocks dropped, the first line
/// with text, a `Title:` label, quotes and final punctuation trimmed, cut at a word.
pub fn clean_model_title(answer: &str) -> Option<String> {
    let answer = without_thinking(answer);
    let line = answer.lines().find(|line| !line.trim().is_empty())?;
    let line = collapse_blanks(line);
    let mut title = line.as_str();
    for label in ["title:", "titre:", "título:"] {
        if title.len() >= label.len()
            && title.is_char_boundary(label.len())
            && title[..label.len()].eq_ignore_ascii_case(label)
        {
            title = &title[label.len()..];
        }
    }
    const QUOTES: &[char] = &['"', '\'', '“', '”', '‘', '’', '«', '»', '`', '*', '#'];
    const FINAL: &[char] = &['.', '!', '?', ',', ';', ':', '。', '！', '？', '…'];
    let mut title = title.trim();
    loop {
        let trimmed = title
            .trim_matches(|c: char| c.is_whitespace() || QUOTES.contains(&c))
            .trim_end_matches(FINAL);
        if trimmed == title {
            break;
        }
        title = trimmed;
    }
    (!title.is_empty()).then(|| cut_at_word(title, TITLE_MAX_CHARS))
}

/// `text` without `<think>…</think>` blocks; an unclosed one runs to the end.
fn without_thinking(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        kept.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => return kept,
        }
    }
    kept.push_str(rest);
    kept
}

/// Runs of whitespace (and control characters) as one space, trimmed.
fn collapse_blanks(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` of at most `max` characters: cut after the last whole word that fits, with
/// an ellipsis, or inside a word too long to cut at a space.
fn cut_at_word(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let room: String = text.chars().take(max - 1).collect();
    let next_is_blank = text.chars().nth(max - 1).is_some_and(char::is_whitespace);
    let cut = if next_is_blank {
        room.as_str()
    } else {
        match room.rfind(' ') {
            Some(space) if space > 0 => &room[..space],
            _ => room.as_str(),
        }
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:-".contains(c));
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_cut_at_a_word() {
        assert_eq!(
            first_line_title("Why is the sky blue?").as_deref(),
            Some("Why is the sky blue?")
        );
        assert_eq!(
            first_line_title("\n  \n  Plan a   trip\tto Kyoto \nwith details").as_deref(),
            Some("Plan a trip to Kyoto")
        );
        let long = "Explain the difference between a process and a thread, with examples in Rust";
        let title = first_line_title(long).unwrap();
        assert_eq!(
            title,
            "Explain the difference between a process and a thread, with…"
        );
        assert!(title.chars().count() <= TITLE_MAX_CHARS);
        let one_word = "x".repeat(100);
        let title = first_line_title(&one_word).unwrap();
        assert_eq!(title.chars().count(), TITLE_MAX_CHARS);
        assert!(title.ends_with('…'));
        // Exactly at the limit: no ellipsis.
        let exact = "a".repeat(60);
        assert_eq!(first_line_title(&exact).unwrap(), exact);
        let cjk = "北".repeat(80);
        assert_eq!(
            first_line_title(&cjk).unwrap().chars().count(),
            TITLE_MAX_CHARS
        );
        assert_eq!(first_line_title(" \n\t"), None);
    }

    #[test]
    fn a_model_answer_is_cleaned_into_a_title() {
        let cases = [
            ("\"Sky Colours Explained.\"", "Sky Colours Explained"),
            (
                "<think>They ask about the sky.\nHmm.</think>\n\nTitle: **Blue Skies**",
                "Blue Skies",
            ),
            (
                "  'Rayleigh scattering!'  \nSome explanation follows.",
                "Rayleigh scattering",
            ),
            ("« Le ciel bleu »", "Le ciel bleu"),
        ];
        for (answer, title) in cases {
            assert_eq!(
                clean_model_title(answer).as_deref(),
                Some(title),
                "{answer:?}"
            );
        }
        assert_eq!(clean_model_title("<think>never done"), None);
        assert_eq!(clean_model_title("\"\"\n..."), None);
        let long = clean_model_title(&"word ".repeat(40)).unwrap();
        assert!(
            long.chars().count() <= TITLE_MAX_CHARS && long.ends_with('…'),
            "{long}"
        );
    }
}
