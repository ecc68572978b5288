//! `chatctl conv tree [ID]`: a conversation's branches (docs/API.md §3.19) as an
//! indented tree, each message under the one it follows, the active path marked; with
//! `--json`, the server's `GET /conversations/{id}/tree` answer as it is. Also the
//! `‹2/3›` marks the history views put on messages that have other versions.

use std::collections::HashMap;

use anyhow::Context as _;
use clap_complete::ArgValueCandidates;
use common::Message;

use crate::client::Client;
use crate::completions::dynamic;
use crate::context::Ctx;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv tree
  chatctl conv tree 12
  chatctl --json conv tree 12 | jq '.messages[] | select(.active)'";

/// Characters of a message's first line shown in the tree.
const LINE_CHARS: usize = 60;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation's id (default: the current one, the last used).
    #[arg(add = ArgValueCandidates::new(dynamic::conversations))]
    pub id: Option<i64>,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let id = super::given_or_current(ctx, self.id).await?;
        let tree = ctx
            .client
            .tree(id)
            .await
            .with_context(|| format!("could not read the tree of conversation {id}"))?;
        if ctx.out.json {
            ctx.out.json(&tree)?;
            return Ok(());
        }
        let document = ctx
            .client
            .export(id)
            .await
            .with_context(|| format!("could not read conversation {id}"))?;
        let texts: HashMap<i64, &Message> = document.messages.iter().map(|m| (m.id, m)).collect();
        for line in lines(&tree, &texts) {
            ctx.out.line(&line)?;
        }
        Ok(())
    }
}

/// The tree's lines: a message indented two spaces per level below its root, `*` on the
/// active path, `‹2/3›` where it has siblings.
pub fn lines(tree: &common::ConversationTree, texts: &HashMap<i64, &Message>) -> Vec<String> {
    let mut children: HashMap<Option<i64>, Vec<&common::TreeMessage>> = HashMap::new();
    for message in &tree.messages {
        children.entry(message.parent_id).or_default().push(message);
    }
    let mut out = Vec::with_capacity(tree.messages.len());
    // Depth first, oldest sibling first; each message is visited once (a parent is
    // always older, so the walk cannot loop).
    let mut stack: Vec<(&common::TreeMessage, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|m| (*m, 0)).collect())
        .unwrap_or_default();
    while let Some((message, depth)) = stack.pop() {
        if out.len() >= tree.messages.len() {
            break;
        }
        let switcher = Mark::of(message)
            .map(|mark| format!(" {mark}"))
            .unwrap_or_default();
        let text = texts
            .get(&message.id)
            .map(|m| first_line(&m.content, LINE_CHARS))
            .unwrap_or_default();
        out.push(format!(
            "{}{} {} {}{switcher}: {text}",
            "  ".repeat(depth),
            if message.active { "*" } else { " " },
            message.id,
            message.role.as_str(),
        ));
        if let Some(below) = children.get(&Some(message.id)) {
            stack.extend(below.iter().rev().map(|m| (*m, depth + 1)));
        }
    }
    out
}

/// The first line of `text` that is not blank, cut at `chars` characters (`…` says so).
pub fn first_line(text: &str, chars: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut shown: String = line.chars().take(chars).collect();
    if line.chars().count() > chars {
        shown.push('…');
    }
    shown
}

/// A message's place among its versions (the messages with the same parent): `‹2/3›`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// 1-based, oldest first.
    pub place: usize,
    pub of: usize,
}

impl Mark {
    /// `None` for a message without other versions.
    pub fn of(message: &common::TreeMessage) -> Option<Mark> {
        if message.siblings.len() < 2 {
            return None;
        }
        let place = message.siblings.iter().position(|id| *id == message.id)? + 1;
        Some(Mark {
            place,
            of: message.siblings.len(),
        })
    }
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "‹{}/{}›", self.place, self.of)
    }
}

/// The marks of a conversation's messages that have other versions, by message id.
pub type Marks = HashMap<i64, Mark>;

/// The marks of `tree`'s messages.
pub fn marks_of(tree: &common::ConversationTree) -> Marks {
    tree.messages
        .iter()
        .filter_map(|m| Mark::of(m).map(|mark| (m.id, mark)))
        .collect()
}

/// The marks of conversation `id`, read from the server; none when it cannot tell (a
/// server without branches, or a failure: the marks are a nicety, not the history).
pub async fn marks(client: &Client, id: i64) -> Marks {
    match client.tree(id).await {
        Ok(tree) => marks_of(&tree),
        Err(_) => Marks::new(),
    }
}
