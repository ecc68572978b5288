//! `/search QUERY` in a session: the user's hits, numbered, and on a terminal a picker
//! that opens the conversation of the one chosen; a script opens one with `/open ID`
//! (every hit shows its conversation's id).

use common::archive::SearchHit;

use super::{Input, Session, SessionEvent, blocking_prompt, theme};
use crate::output::note;
use crate::search;

/// Hits shown for one `/search`.
const HITS_SHOWN: u32 = 20;

impl Session<'_> {
    pub(super) async fn search(&mut self, query: &str) -> anyhow::Result<()> {
        let user = self.user()?.clone();
        let hits = search::search(&self.ctx.client, user.id, query, HITS_SHOWN).await?;
        let out = self.ctx.out.clone();
        if out.json {
            out.json_line(&SessionEvent::Hits { hits: &hits })?;
            return Ok(());
        }
        if hits.is_empty() {
            note(&format!("no message matches {query:?}"));
            return Ok(());
        }
        search::print_hits(&out, &hits, true)?;
        if !matches!(self.input, Input::Terminal(_)) {
            return Ok(());
        }
        if let Some(hit) = self.choose(&hits).await? {
            self.open(hit).await?;
        }
        Ok(())
    }

    /// The conversation of the hit picked, `None` to stay where we are.
    async fn choose(&self, hits: &[SearchHit]) -> anyhow::Result<Option<i64>> {
        let mut items = vec!["(stay in this conversation)".to_string()];
        items.extend(hits.iter().enumerate().map(|(n, hit)| {
            let snippet: String = hit.snippet.chars().take(60).collect();
            format!("[{}] {:>4}  {snippet}", n + 1, hit.conversation_id)
        }));
        let color = self.color;
        let choice = blocking_prompt(move || {
            dialoguer::Select::with_theme(theme(color).as_ref())
                .with_prompt("Open a hit")
                .items(&items)
                .default(0)
                .interact_opt()
        })
        .await?;
        Ok(choice
            .filter(|i| *i > 0)
            .and_then(|i| hits.get(i - 1))
            .map(|hit| hit.conversation_id))
    }
}
