//! `chatctl conv list`: the user's conversations as `listing.rs` shows them.

use anyhow::Context as _;
use common::summaries::SummaryOrder;

use crate::context::Ctx;
use crate::listing::{self, MoreHint, Window};

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv list
  chatctl conv list --all --oldest-first
  chatctl --json conv list --limit 100 | jq '.[] | select(.message_count > 0) | .id'";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many conversations to skip.
    #[arg(long, default_value_t = 0, conflicts_with = "all")]
    pub skip: u64,
    /// How many conversations to list at most (0-1000).
    #[arg(
        long,
        default_value_t = 10,
        conflicts_with = "all",
        value_parser = clap::value_parser!(u64).range(0..=1000)
    )]
    pub limit: u64,
    /// List every conversation (pages through all of them).
    #[arg(long)]
    pub all: bool,
    /// The least recently active first (default: the most recently active first).
    #[arg(long)]
    pub oldest_first: bool,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.user().await?;
        let window = if self.all {
            Window::All
        } else {
            Window::Page {
                skip: self.skip,
                limit: self.limit,
            }
        };
        let order = if self.oldest_first {
            SummaryOrder::Oldest
        } else {
            SummaryOrder::Newest
        };
        let listing = listing::fetch(&ctx.client, user.id, window, order)
            .await
            .context("could not list conversations")?;
        if ctx.out.json {
            ctx.out.json(&listing.entries)?;
        } else if listing.entries.is_empty() && listing.more == 0 {
            crate::output::note(&format!(
                "no conversations for {} here; start one with `chatctl chat --new`",
                user.username
            ));
        } else {
            let current = ctx.last_conversation(&user.username);
            let hint = MoreHint::Flags { limit: self.limit };
            listing::print(&ctx.out, &listing, current, hint)?;
        }
        Ok(())
    }
}
