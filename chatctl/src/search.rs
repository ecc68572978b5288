//! `chatctl search QUERY`: full-text search of the user's messages (chatd's
//! `GET /users/{id}/search` extension), one hit per line with where it is; the matches
//! are highlighted on a terminal and plain on a pipe, since the server gives their
//! places as character ranges of the snippet. Also used by `/search` in `chatctl chat`.

use common::archive::{Highlight, SearchHit};

use crate::client::{Client, REQUEST_TIMEOUT};
use crate::context::Ctx;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;
use crate::output::Out;

/// The most hits the server gives for one query.
pub const LIMIT_MAX: u32 = 100;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to find: words (all must match), "an exact phrase", -excluded words,
    /// role:user or role:assistant, before:YYYY-MM-DD, after:YYYY-MM-DD. Anything else
    /// is searched for as plain words. Quote a query with -excluded words
    /// (`chatctl search 'fox -lazy'`), or put them after `--`.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub query: Vec<String>,

    /// Show at most this many hits (1 to 100), best first.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=LIMIT_MAX as i64))]
    pub limit: u32,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.user().await?;
        let query = self.query.join(" ");
        let hits = search(&ctx.client, user.id, &query, self.limit).await?;
        if ctx.out.json {
            return Ok(ctx.out.json(&hits)?);
        }
        if hits.is_empty() {
            crate::output::note(&format!("no message matches {query:?}"));
            return Ok(());
        }
        print_hits(&ctx.out, &hits, false)?;
        Ok(())
    }
}

/// The user's hits for `query`, best first; a server without search is `NotFound`.
pub async fn search(
    client: &Client,
    user_id: i64,
    query: &str,
    limit: u32,
) -> anyhow::Result<Vec<SearchHit>> {
    let mut url = client.url(&["users", &user_id.to_string(), "search"]);
    url.query_pairs_mut()
        .append_pair("q", query)
        .append_pair("limit", &limit.to_string());
    let response = client
        .send(|http| http.get(url.clone()).timeout(REQUEST_TIMEOUT))
        .await?;
    match client.json(response).await {
        Ok(hits) => Ok(hits),
        // A user that exists (just looked up) whose search is not found: an older
        // server, or one that only implements the documented API.
        Err(ApiError::Status { status: 404, .. }) => Err(Coded {
            code: ExitCode::NotFound,
            message: format!(
                "the server at {} does not support search (it has no GET /users/{{id}}/search)",
                client.server()
            ),
        }
        .into()),
        Err(other) => Err(other.into()),
    }
}

/// One line per hit: `[N] conversation ID "name" · role · date` and the snippet under
/// it, numbered from 1 when `numbered` (for choosing one to open).
pub fn print_hits(out: &Out, hits: &[SearchHit], numbered: bool) -> std::io::Result<()> {
    for (n, hit) in hits.iter().enumerate() {
        let number = if numbered {
            format!("[{}] ", n + 1)
        } else {
            String::new()
        };
        let name = hit
            .conversation_name
            .as_deref()
            .map(|name| format!(" {name:?}"))
            .unwrap_or_default();
        let date = hit.created_at.get(..16).unwrap_or(&hit.created_at);
        let place = format!(
            "{number}conversation {}{name} · {} · {}",
            hit.conversation_id,
            hit.role.as_str(),
            date.replace('T', " ")
        );
        out.line(&out.dim(&printable(&place)))?;
        // One character for one, so the highlights' ranges still fall where they did.
        let snippet = printable(&hit.snippet);
        out.line(&format!(
            "  {}",
            highlighted(&snippet, &hit.highlights, |m| out.highlight(m))
        ))?;
    }
    Ok(())
}

/// Stored text with its control characters (a terminal's escape sequences among them)
/// shown as spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `snippet` with each highlighted range passed through `mark`; ranges out of order,
/// overlapping or past the end (a server's mistake) are clipped, never a panic.
pub fn highlighted(
    snippet: &str,
    highlights: &[Highlight],
    mark: impl Fn(&str) -> String,
) -> String {
    let chars: Vec<char> = snippet.chars().collect();
    let mut out = String::with_capacity(snippet.len() + highlights.len() * 8);
    let mut at = 0;
    let mut ranges: Vec<Highlight> = highlights.to_vec();
    ranges.sort_by_key(|h| (h.start, h.end));
    for range in ranges {
        let start = range.start.clamp(at, chars.len());
        let end = range.end.clamp(start, chars.len());
        if start == end {
            continue;
        }
        out.extend(&chars[at..start]);
        out.push_str(&mark(&chars[start..end].iter().collect::<String>()));
        at = end;
    }
    out.extend(&chars[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_mark_character_ranges() {
        let mark = |m: &str| format!("[{m}]");
        let h = |start, end| Highlight { start, end };
        assert_eq!(
            highlighted("我们明天去京都", &[h(5, 7)], mark),
            "我们明天去[京都]"
        );
        assert_eq!(
            highlighted("a fox and a fox", &[h(12, 15), h(2, 5)], mark),
            "a [fox] and a [fox]"
        );
        // Overlapping and out-of-range ranges are clipped.
        assert_eq!(
            highlighted("abc", &[h(0, 2), h(1, 9), h(7, 8)], mark),
            "[ab][c]"
        );
    }
}
