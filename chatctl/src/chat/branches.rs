//! Branches in a session (docs/API.md §3.19): `/regenerate` asks for another answer to
//! the last message, `/edit [N]` sends a changed version of an earlier message of
//! yours as a new branch, `/branches` lists the conversation's branches and `/branch N`
//! switches to one. Nothing is lost by any of them: the old versions stay in the tree,
//! one `/branch` away, and the history view marks where they are (`‹2/3›`).
//!
//! A branch here is a path from the first message to a leaf (a message nothing
//! follows), numbered by its leaf's age, so a branch keeps its number until a message
//! is added to it.

use std::collections::HashMap;

use anyhow::Context as _;
use common::{ConversationTree, Message, Role, TreeMessage, UpdateConversationRequest};
use serde::Serialize;

use super::editor::{self, Edited};
use super::transcript::{Render, report};
use super::{Input, Session, SessionEvent, Turn, blocking_prompt, theme};
use crate::conv::tree::{self, Mark};
use crate::error::{Coded, Interrupted};
use crate::output::note;
use crate::reply;

/// Characters of a message's first line shown in `/branches`.
const LINE_CHARS: usize = 50;
/// What the errors of a server without branches call them.
const BRANCHES: &str = "branches";

/// One branch of the conversation, as `/branches` lists it (and its `--json` line).
#[derive(Debug, Clone, Serialize)]
pub struct Branch {
    /// 1-based; what `/branch N` takes.
    pub number: usize,
    /// The last message of the branch; `PATCH active_leaf_id` takes it.
    pub leaf_id: i64,
    /// Whether it is the branch the session shows.
    pub active: bool,
    /// How many messages it has, from the first message to its leaf.
    pub messages: usize,
    /// Its last message that has other versions: where it parts from the branches
    /// beside it. `None` when the conversation has one branch.
    pub fork_id: Option<i64>,
}

/// The branches of `tree`, oldest leaf first. A parent is older than what follows it
/// (the tree lists messages oldest first), so one pass in that order finds every
/// message's depth and last fork.
pub fn branches(tree: &ConversationTree) -> Vec<Branch> {
    let mut depth: HashMap<i64, usize> = HashMap::with_capacity(tree.messages.len());
    let mut fork: HashMap<i64, Option<i64>> = HashMap::with_capacity(tree.messages.len());
    let mut has_children: HashMap<i64, bool> = HashMap::with_capacity(tree.messages.len());
    for message in &tree.messages {
        let (above, above_fork) = match message.parent_id {
            Some(parent) => (
                depth.get(&parent).copied().unwrap_or(0),
                fork.get(&parent).copied().flatten(),
            ),
            None => (0, None),
        };
        depth.insert(message.id, above + 1);
        let own = (message.siblings.len() > 1).then_some(message.id);
        fork.insert(message.id, own.or(above_fork));
        if let Some(parent) = message.parent_id {
            has_children.insert(parent, true);
        }
    }
    tree.messages
        .iter()
        .filter(|m| !has_children.contains_key(&m.id))
        .enumerate()
        .map(|(at, leaf)| Branch {
            number: at + 1,
            leaf_id: leaf.id,
            active: tree.active_leaf_id == Some(leaf.id),
            messages: depth.get(&leaf.id).copied().unwrap_or(1),
            fork_id: fork.get(&leaf.id).copied().flatten(),
        })
        .collect()
}

/// One line of `/branches`: `* 2  you ‹2/2›: "two, edited" · 4 messages · ends "…"`.
fn describe(
    branch: &Branch,
    by_id: &HashMap<i64, &TreeMessage>,
    texts: &HashMap<i64, &Message>,
) -> String {
    let text = |id: i64| {
        texts
            .get(&id)
            .map(|m| tree::first_line(m.content.trim(), LINE_CHARS))
            .unwrap_or_default()
    };
    let role = |id: i64| {
        by_id.get(&id).map_or("message", |m| match m.role {
            Role::User => "you",
            Role::Assistant => "answer",
        })
    };
    let fork = branch.fork_id.map_or(String::new(), |id| {
        let mark = by_id
            .get(&id)
            .and_then(|m| Mark::of(m))
            .map(|mark| format!(" {mark}"))
            .unwrap_or_default();
        format!("{}{mark}: {:?} · ", role(id), text(id))
    });
    format!(
        "{} {:>2}  {fork}{} messages · ends {}: {:?}",
        if branch.active { "*" } else { " " },
        branch.number,
        branch.messages,
        role(branch.leaf_id),
        text(branch.leaf_id)
    )
}

impl Session<'_> {
    /// `/regenerate`: another answer beside the last one, streamed as a reply is.
    pub(super) async fn regenerate(&mut self) -> anyhow::Result<()> {
        let out = self.ctx.out.clone();
        let id = self.conversation_id;
        let show = self.show_reasoning;
        let mut render = Render::new(&out, show);
        let result = reply::regenerate(&self.ctx.client, id, None, show, |e| render.event(e)).await;
        render.close_line()?;
        let outcome = match result {
            Err(err) if super::is_conflict(&err) => {
                // Regenerating right after would answer again the reply being made
                // now, which nobody has seen yet: show it, and let the person decide.
                note("[a reply is still being generated here; showing it first]");
                self.follow(None).await?;
                note("[/regenerate again for another answer to it]");
                return Ok(());
            }
            other => other?,
        };
        report(&outcome, &out);
        self.tell_version(outcome.end.message.as_ref().map(|m| m.id))
            .await
    }

    /// `/edit [N]`: your last message (or the `N`-th last) changed and sent as a new
    /// version beside it, answered there.
    pub(super) async fn edit(&mut self, nth: Option<&str>) -> anyhow::Result<Turn> {
        let nth: usize = match nth {
            None => 1,
            Some(n) => n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Coded::usage(format!(
                    "/edit takes how far back your message is (1 = the last), not {n:?}"
                ))
            })?,
        };
        let id = self.conversation_id;
        let conversation = self
            .ctx
            .client
            .conversation(id)
            .await
            .with_context(|| format!("could not read conversation {id}"))?;
        let yours: Vec<&Message> = conversation
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .collect();
        let Some(original) = yours.len().checked_sub(nth).and_then(|at| yours.get(at)) else {
            return Err(Coded::usage(match yours.len() {
                0 => "nothing to edit: you have sent no message here yet".to_string(),
                1 => format!("/edit {nth}: you have sent 1 message here"),
                n => format!("/edit {nth}: you have sent {n} messages here"),
            })
            .into());
        };
        let (original_id, original_text) = (original.id, original.content.clone());
        let edited = match &mut self.input {
            Input::Terminal(prompt) => match editor::external() {
                Some(command) => editor::edit_in(&command, &original_text).await?,
                None => prompt.edit(&original_text).await?,
            },
            // A script gives the new version on the line after `/edit`.
            Input::Lines(_) => match self.read_line().await? {
                Some(line) => Edited::Text(line),
                None => {
                    return Err(Coded::usage(
                        "/edit needs the new version of the message on the next line",
                    )
                    .into());
                }
            },
        };
        let text = match edited {
            Edited::Text(text) => text,
            Edited::Left => {
                note("[edit left; nothing sent]");
                return Ok(Turn::Continue);
            }
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            note("[the edit is empty; nothing sent]");
            return Ok(Turn::Continue);
        }
        if text == original_text.trim_end_matches(['\n', '\r']) {
            note("[unchanged; nothing sent (/regenerate asks for another answer)]");
            return Ok(Turn::Continue);
        }
        let text = text.to_string();
        let turn = self.say_edit(&text, Some(original_id)).await?;
        if let Ok(Some(message)) = self.ctx.client.messages(id).await
            && let Some(sent) = message.iter().rev().find(|m| m.role == Role::User)
        {
            self.tell_version(Some(sent.id)).await?;
        }
        Ok(turn)
    }

    /// `/branches`: every branch, the one shown marked `*`.
    pub(super) async fn list_branches(&mut self) -> anyhow::Result<()> {
        let (tree, branches) = self.read_branches().await?;
        let out = self.ctx.out.clone();
        if out.json {
            out.json_line(&SessionEvent::Branches {
                branches: &branches,
            })?;
            return Ok(());
        }
        if branches.len() < 2 {
            note("one branch: nothing here was edited or answered again yet (/edit, /regenerate)");
            return Ok(());
        }
        for line in self.branch_lines(&tree, &branches).await? {
            out.line(&line)?;
        }
        note("(/branch N switches)");
        Ok(())
    }

    /// `/branch [N]`: shows branch `N` and makes it the one new messages follow; on a
    /// terminal without `N`, a pick from the list.
    pub(super) async fn switch_branch(&mut self, number: Option<&str>) -> anyhow::Result<()> {
        let (tree, branches) = self.read_branches().await?;
        let number = match number {
            Some(n) => n.parse::<usize>().map_err(|_| {
                Coded::usage(format!("/branch takes a number from /branches, not {n:?}"))
            })?,
            None if matches!(self.input, Input::Terminal(_)) => {
                let lines = self.branch_lines(&tree, &branches).await?;
                let default = branches.iter().position(|b| b.active).unwrap_or(0);
                let color = self.color;
                let picked = blocking_prompt(move || {
                    dialoguer::Select::with_theme(theme(color).as_ref())
                        .with_prompt("Branch")
                        .items(&lines)
                        .default(default)
                        .interact_opt()
                })
                .await;
                match picked {
                    Ok(Some(at)) => at + 1,
                    Ok(None) => return Ok(()),
                    Err(err) if err.is::<Interrupted>() => return Ok(()),
                    Err(err) => return Err(err),
                }
            }
            None => {
                return Err(Coded::usage("/branch needs N here: /branch N (see /branches)").into());
            }
        };
        let Some(branch) = number.checked_sub(1).and_then(|at| branches.get(at)) else {
            return Err(Coded::usage(format!(
                "no branch {number}: this conversation has {} (see /branches)",
                branches.len()
            ))
            .into());
        };
        let change = UpdateConversationRequest {
            active_leaf_id: Some(branch.leaf_id),
            ..UpdateConversationRequest::default()
        };
        self.update(&change, BRANCHES).await?;
        if !self.ctx.out.json {
            note(&format!("[branch {number} of {}]", branches.len()));
        }
        let id = self.conversation_id;
        self.open(id).await
    }

    async fn read_branches(&self) -> anyhow::Result<(ConversationTree, Vec<Branch>)> {
        let id = self.conversation_id;
        let client = &self.ctx.client;
        let tree = client
            .tree(id)
            .await
            .map_err(|err| crate::client::unsupported_or(err, client.server(), BRANCHES))
            .map_err(|err| {
                err.context(format!("could not read the branches of conversation {id}"))
            })?;
        let branches = branches(&tree);
        Ok((tree, branches))
    }

    async fn branch_lines(
        &self,
        tree: &ConversationTree,
        branches: &[Branch],
    ) -> anyhow::Result<Vec<String>> {
        let id = self.conversation_id;
        let document = self
            .ctx
            .client
            .export(id)
            .await
            .with_context(|| format!("could not read conversation {id}"))?;
        let texts: HashMap<i64, &Message> = document.messages.iter().map(|m| (m.id, m)).collect();
        let by_id: HashMap<i64, &TreeMessage> = tree.messages.iter().map(|m| (m.id, m)).collect();
        Ok(branches
            .iter()
            .map(|branch| describe(branch, &by_id, &texts))
            .collect())
    }

    /// Says which version of its message `message_id` is, once there are several.
    async fn tell_version(&self, message_id: Option<i64>) -> anyhow::Result<()> {
        let Some(message_id) = message_id else {
            return Ok(());
        };
        if self.ctx.out.json {
            return Ok(());
        }
        let marks = tree::marks(&self.ctx.client, self.conversation_id).await;
        if let Some(mark) = marks.get(&message_id) {
            note(&format!(
                "[version {mark} here; /branches lists the versions, /branch N switches]"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use common::MessageStatus;

    use super::*;

    fn message(id: i64, parent_id: Option<i64>, siblings: &[i64], active: bool) -> TreeMessage {
        TreeMessage {
            id,
            parent_id,
            role: if id % 2 == 1 {
                Role::User
            } else {
                Role::Assistant
            },
            status: MessageStatus::Complete,
            created_at: String::new(),
            siblings: siblings.to_vec(),
            active,
        }
    }

    #[test]
    fn every_leaf_is_a_branch_with_its_last_fork() {
        // 1 → 2 → 3 → 4, then 5 (an edit of 3) → 6, then 7 (another answer to 5).
        let tree = ConversationTree {
            conversation_id: 1,
            active_leaf_id: Some(7),
            complete: true,
            messages: vec![
                message(1, None, &[1], true),
                message(2, Some(1), &[2], true),
                message(3, Some(2), &[3, 5], false),
                message(4, Some(3), &[4], false),
                message(5, Some(2), &[3, 5], true),
                message(6, Some(5), &[6, 7], false),
                message(7, Some(5), &[6, 7], true),
            ],
        };
        let found: Vec<(usize, i64, bool, usize, Option<i64>)> = branches(&tree)
            .into_iter()
            .map(|b| (b.number, b.leaf_id, b.active, b.messages, b.fork_id))
            .collect();
        assert_eq!(
            found,
            [
                (1, 4, false, 4, Some(3)),
                (2, 6, false, 4, Some(6)),
                (3, 7, true, 4, Some(7)),
            ]
        );
    }

    #[test]
    fn a_line_has_one_branch_and_no_fork() {
        let tree = ConversationTree {
            conversation_id: 1,
            active_leaf_id: Some(2),
            complete: true,
            messages: vec![
                message(1, None, &[1], true),
                message(2, Some(1), &[2], true),
            ],
        };
        let found = branches(&tree);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].leaf_id, found[0].fork_id), (2, None));
        assert!(found[0].active);
    }
}
