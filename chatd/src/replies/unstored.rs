//! Replies that ended but could not be stored yet (the disk was full, the database locked,
//! read-only or unreachable), and the recovery file that carries them across a restart.
//!
//! A reply is never dropped because its final write failed: the reply task keeps it and
//! retries with backoff (`Replies::store_until_done`). If chatd stops first, what is left
//! is appended to the recovery file, one JSON object per line, and stored at the next
//! start. The file sits next to the SQLite database (`<database>.unstored.jsonl`), or, on
//! PostgreSQL, in chatd's data directory, so it lives wherever the data does.
//!
//! The retries and the start-up recovery are `Replies` methods here, beside the file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::DateTime;
use common::{MessageStatus, Role};
use serde::{Deserialize, Serialize};

use super::{Replies, Reply, ReplyEnd, ReplyState};
use crate::store::{FinishedReply, MessageDetails, MessageRow};

/// The first wait before a failed final write is tried again; it doubles up to
/// `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between two tries: short enough that a reply lands within seconds
/// of space coming back.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// One line of the recovery file: the reply and the user message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnstoredReply {
    pub reply: FinishedReply,
    pub user_message_content: String,
    /// Microseconds since the Unix epoch, UTC.
    pub user_message_created_at_us: i64,
    /// The message the user message follows; lines from before branches have none.
    #[serde(default)]
    pub user_message_parent_id: Option<i64>,
}

impl UnstoredReply {
    pub fn new(reply: FinishedReply, user_message: &MessageRow) -> UnstoredReply {
        UnstoredReply {
            reply,
            user_message_content: user_message.content.clone(),
            user_message_created_at_us: user_message.created_at.and_utc().timestamp_micros(),
            user_message_parent_id: user_message.parent_id,
        }
    }

    /// The stored user message this reply answers, as it was read when the chat began.
    pub fn user_message(&self) -> MessageRow {
        MessageRow {
            id: self.reply.user_message_id,
            conversation_id: self.reply.conversation_id,
            role: Role::User,
            content: self.user_message_content.clone(),
            status: MessageStatus::Complete,
            created_at: DateTime::from_timestamp_micros(self.user_message_created_at_us)
                .unwrap_or_default()
                .naive_utc(),
            details: MessageDetails::NONE,
            parent_id: self.user_message_parent_id,
        }
    }
}

/// Where replies that could not be stored before exit are kept: the file next to the
/// data, and a fallback on another file system for when that one is the full disk.
#[derive(Debug, Clone)]
pub struct RecoveryFile {
    path: PathBuf,
    fallback: Option<PathBuf>,
}

impl RecoveryFile {
    pub fn new(path: PathBuf) -> RecoveryFile {
        RecoveryFile {
            path,
            fallback: None,
        }
    }

    /// Also keeps replies at `fallback` when `path` cannot be written (the disk that
    /// refused the reply may refuse its recovery file too), and takes them from there.
    pub fn or_else_at(mut self, fallback: PathBuf) -> RecoveryFile {
        self.fallback = Some(fallback).filter(|other| *other != self.path);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one reply to the first place that takes it; returns which.
    pub fn append(&self, reply: &UnstoredReply) -> std::io::Result<&Path> {
        let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match append_line(&self.path, &line) {
            Ok(()) => Ok(&self.path),
            Err(first) => match &self.fallback {
                Some(fallback) => {
                    tracing::warn!("could not write {}: {first}", self.path.display());
                    append_line(fallback, &line).map(|()| fallback.as_path())
                }
                None => Err(first),
            },
        }
    }

    /// Takes every reply kept, from both places. A place that cannot be read does not
    /// keep the other's replies from being taken; its error is returned after.
    pub fn take(&self) -> std::io::Result<Vec<UnstoredReply>> {
        let mut replies = Vec::new();
        let mut failed = None;
        for place in std::iter::once(&self.path).chain(&self.fallback) {
            match take_from(place) {
                Ok(taken) => replies.extend(taken),
                Err(e) => {
                    tracing::error!(
                        "could not read the kept replies in {}: {e}",
                        place.display()
                    );
                    failed = Some(e);
                }
            }
        }
        match failed {
            Some(e) if replies.is_empty() => Err(e),
            _ => Ok(replies),
        }
    }
}

/// One `write` of a whole line on a file opened for appending, so that several chatd
/// processes sharing a data directory never interleave lines.
fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(line)?;
    file.sync_all()
}

/// Takes every reply the file at `path` holds, leaving no file behind. The file is
/// first renamed to a name of this process, so two processes starting at once never both
/// take the same lines. Lines that cannot be read are kept aside in `<file>.unreadable`
/// and reported, never silently lost.
fn take_from(path: &Path) -> std::io::Result<Vec<UnstoredReply>> {
    let claimed = path.with_extension(format!("jsonl.taken-{}", std::process::id()));
    match std::fs::rename(path, &claimed) {
        Ok(()) => {}
        // Nothing was ever kept there.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    }
    let text = std::fs::read(&claimed)?;
    let mut replies = Vec::new();
    let mut unreadable = Vec::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<UnstoredReply>(line) {
            Ok(reply) => replies.push(reply),
            Err(e) => {
                tracing::error!(
                    "a line of {} cannot be read ({e}); it is kept in {}.unreadable",
                    path.display(),
                    path.display()
                );
                unreadable.extend_from_slice(line);
                unreadable.push(b'\n');
            }
        }
    }
    if !unreadable.is_empty() {
        let aside = path.with_extension("jsonl.unreadable");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(aside)?
            .write_all(&unreadable)?;
    }
    std::fs::remove_file(&claimed)?;
    Ok(replies)
}

impl Replies {
    /// Retries a reply's failed final write with backoff until it succeeds or chatd
    /// stops; at stop, a reply still unstored goes to the recovery file for the next
    /// start (nothing to keep when nothing was generated: the lease row alone remains,
    /// and the next start frees it).
    pub(super) async fn store_until_done(&self, reply: &Reply, finished: Option<FinishedReply>) {
        let failed_at = std::time::Instant::now();
        let mut wait = RETRY_FIRST;
        loop {
            tokio::select! {
                biased;
                () = self.abort.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
            match self
                .final_write(reply.conversation_id, finished.clone())
                .await
            {
                Ok(message) => {
                    tracing::info!(
                        conversation_id = reply.conversation_id,
                        "stored the reply {} ms after its first write failed",
                        failed_at.elapsed().as_millis()
                    );
                    reply.state.send_modify(|state| {
                        if let Some(end) = &mut state.end {
                            end.message = message;
                            end.stored = true;
                        }
                    });
                    return;
                }
                Err(e) => {
                    tracing::debug!(
                        conversation_id = reply.conversation_id,
                        "the reply still cannot be stored: {e}"
                    );
                    wait = (wait * 2).min(RETRY_MAX);
                }
            }
        }
        let Some(finished) = finished else {
            return;
        };
        let kept = UnstoredReply::new(finished, &reply.user_message);
        match self.recovery.append(&kept) {
            Ok(kept_at) => tracing::warn!(
                conversation_id = reply.conversation_id,
                "the reply could not be stored before exit; it is kept in {} and stored \
                 at the next start",
                kept_at.display()
            ),
            Err(e) => tracing::error!(
                conversation_id = reply.conversation_id,
                "the reply could not be stored, nor kept in {}: {e}; its text was: {:?}",
                self.recovery.path().display(),
                kept.reply.content
            ),
        }
    }

    /// At start-up: stores the replies the recovery file holds. Those the database still
    /// refuses are held as unstored replies of this process (their conversations answer
    /// 503 until they are stored) and retried like any other. Returns how many were
    /// stored now and how many wait.
    pub async fn recover_unstored(&self) -> std::io::Result<(usize, usize)> {
        let kept = self.recovery.take()?;
        let (mut stored, mut waiting) = (0, 0);
        for item in kept {
            let conversation_id = item.reply.conversation_id;
            match self
                .final_write(conversation_id, Some(item.reply.clone()))
                .await
            {
                Ok(Some(_)) => stored += 1,
                // Already answered, or its conversation was deleted meanwhile: nothing
                // to store (`final_write` said which).
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(
                        conversation_id,
                        "a reply kept from the last run cannot be stored yet: {e}"
                    );
                    waiting += 1;
                    self.hold_unstored(item);
                }
            }
        }
        Ok((stored, waiting))
    }

    /// Holds a reply kept from the last run in the registry and retries storing it.
    fn hold_unstored(&self, item: UnstoredReply) {
        let conversation_id = item.reply.conversation_id;
        let state = ReplyState {
            deltas: vec![item.reply.content.clone()],
            reasoning: (item.reply.details.reasoning.clone().into_iter())
                .map(|reasoning| (0, reasoning))
                .collect(),
            tool_calls: Vec::new(),
            end: Some(ReplyEnd {
                status: item.reply.status,
                message: None,
                error: Some(
                    "the reply is not stored yet; chatd keeps it and stores it once the \
                     database is back"
                        .into(),
                ),
                stored: false,
            }),
        };
        let reply = self.hold(
            conversation_id,
            item.user_message(),
            item.reply.reply_index,
            state,
        );
        let this = self.clone();
        self.tasks.spawn(async move {
            this.store_until_done(&reply, Some(item.reply)).await;
            this.release(conversation_id);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(conversation_id: i64, content: &str) -> UnstoredReply {
        UnstoredReply {
            reply: FinishedReply {
                conversation_id,
                user_message_id: conversation_id * 10,
                reply_index: 0,
                content: content.into(),
                status: MessageStatus::Complete,
                details: MessageDetails::default(),
            },
            user_message_content: "question".into(),
            user_message_created_at_us: 1_764_000_000_123_456,
            user_message_parent_id: None,
        }
    }

    #[test]
    fn a_line_written_before_replies_had_details_still_reads() {
        let line = r#"{"reply":{"conversation_id":1,"user_message_id":10,"content":"hi","status":"complete"},"user_message_content":"q","user_message_created_at_us":1764000000123456}"#;
        let item: UnstoredReply = serde_json::from_str(line).unwrap();
        assert_eq!(item.reply.details, MessageDetails::NONE);
        assert_eq!(item.reply.content, "hi");
        let mut with_details = reply(2, "x");
        with_details.reply.details.reasoning = Some("thought".into());
        with_details.reply.details.prompt_tokens = Some(3);
        let line = serde_json::to_string(&with_details).unwrap();
        assert_eq!(
            serde_json::from_str::<UnstoredReply>(&line).unwrap(),
            with_details
        );
    }

    #[test]
    fn replies_round_trip_through_the_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = RecoveryFile::new(dir.path().join("chatd.db.unstored.jsonl"));
        assert_eq!(file.take().unwrap(), Vec::new(), "no file, nothing taken");
        let first = reply(1, "line one\nline two");
        let second = reply(2, "😀");
        file.append(&first).unwrap();
        file.append(&second).unwrap();
        assert_eq!(file.take().unwrap(), vec![first.clone(), second]);
        assert_eq!(file.take().unwrap(), Vec::new(), "taken replies are gone");
        assert_eq!(
            first.user_message().created_at.and_utc().timestamp_micros(),
            1_764_000_000_123_456
        );
    }

    #[test]
    fn a_reply_the_first_place_refuses_goes_to_the_fallback_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        // A path under a regular file: no directory can be made there.
        let blocked = dir.path().join("not-a-directory");
        std::fs::write(&blocked, "").unwrap();
        let fallback = dir.path().join("elsewhere").join("kept.jsonl");
        let file =
            RecoveryFile::new(blocked.join("chatd.db.unstored.jsonl")).or_else_at(fallback.clone());
        let kept_at = file.append(&reply(7, "kept anyway")).unwrap().to_path_buf();
        assert_eq!(kept_at, fallback);
        assert_eq!(file.take().unwrap(), vec![reply(7, "kept anyway")]);
        assert!(!fallback.exists(), "taken replies are gone");
        let nowhere = RecoveryFile::new(blocked.join("x.jsonl"));
        assert!(
            nowhere.append(&reply(1, "lost")).is_err(),
            "no fallback, an error"
        );
    }

    #[test]
    fn an_unreadable_line_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.unstored.jsonl");
        let file = RecoveryFile::new(path.clone());
        file.append(&reply(1, "kept")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{not json\n")
            .unwrap();
        assert_eq!(file.take().unwrap(), vec![reply(1, "kept")]);
        let aside = std::fs::read_to_string(dir.path().join("x.unstored.jsonl.unreadable"));
        assert_eq!(aside.unwrap(), "{not json\n");
    }
}
