//! `chatctl export` and `chatctl import` (chatd's export/import extensions): a
//! conversation as chatd JSON or Markdown, all of a user's conversations as JSON Lines,
//! and a file of chatd JSON or ChatGPT's `conversations.json` sent to the server.
//!
//! Both stream: an export is written to its file as it arrives (into `FILE.part`,
//! renamed once complete, so a broken export never looks like a finished one), and an
//! import is read from disk a chunk at a time while it is sent, with a progress bar on
//! a terminal for files of a megabyte or more.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use common::archive::ImportSummary;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::Client;
use crate::context::Ctx;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;
use crate::output::{self, Out};

/// An export or an import may take far longer than an ordinary request: a user's whole
/// history, a file of hundreds of megabytes.
const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Read from the file and sent at a time.
const CHUNK_BYTES: usize = 256 * 1024;
/// Files smaller than this are sent without a progress bar.
const PROGRESS_FROM_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// chatd's own versioned JSON, which `chatctl import` reads back.
    Json,
    /// Markdown for people: front matter, a section per message, reasoning folded.
    #[value(alias = "markdown")]
    Md,
}

/// Write a conversation, or all of yours, to a file or stdout.
///
/// Exit codes: 0 written; 1 the file could not be written; 3 no such conversation or
/// user (or a server without export); 5 no daemon.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The conversation to export.
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub conversation: Option<i64>,

    /// Every conversation of the user, as JSON Lines (one conversation per line).
    #[arg(long, conflicts_with = "format")]
    pub all: bool,

    /// The format of one conversation.
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,

    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl ExportArgs {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let (segments, query, what) = match self.conversation {
            Some(id) if !self.all => {
                let format = match self.format {
                    ExportFormat::Json => "json",
                    ExportFormat::Md => "markdown",
                };
                let segments = vec!["conversations".to_string(), id.to_string(), "export".into()];
                (segments, Some(format), format!("conversation {id}"))
            }
            _ => {
                let user = ctx.user().await?;
                let segments = vec!["users".to_string(), user.id.to_string(), "export".into()];
                (segments, None, format!("{}'s conversations", user.username))
            }
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let mut url = ctx.client.url(&segments);
        if let Some(format) = query {
            url.query_pairs_mut().append_pair("format", format);
        }
        let response = ctx
            .client
            .send(|http| http.get(url.clone()).timeout(ARCHIVE_TIMEOUT))
            .await?;
        let response = Client::check(response)
            .await
            .map_err(|err| with_hint(err, &ctx.client, "export"))?;
        let mut body = response.bytes_stream();
        match &self.output {
            None => {
                let mut stdout = std::io::stdout().lock();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|err| ctx.client.transport_error(err))?;
                    stdout.write_all(&chunk)?;
                }
                stdout.flush()?;
            }
            Some(path) => {
                let part = part_path(path);
                let written = async {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(&part)
                            .with_context(|| format!("could not create {}", part.display()))?,
                    );
                    let mut bytes = 0u64;
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk.map_err(|err| ctx.client.transport_error(err))?;
                        bytes += chunk.len() as u64;
                        file.write_all(&chunk)
                            .with_context(|| format!("could not write {}", part.display()))?;
                    }
                    file.flush()
                        .with_context(|| format!("could not write {}", part.display()))?;
                    Ok::<_, anyhow::Error>(bytes)
                }
                .await;
                let bytes = match written {
                    Ok(bytes) => bytes,
                    Err(err) => {
                        let _ = std::fs::remove_file(&part);
                        return Err(err);
                    }
                };
                std::fs::rename(&part, path).with_context(|| {
                    format!("could not rename {} to {}", part.display(), path.display())
                })?;
                output::note(&format!(
                    "wrote {what} to {} ({bytes} bytes)",
                    path.display()
                ));
            }
        }
        Ok(())
    }
}

/// `FILE.part` beside `FILE`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportSource {
    /// chatd's own JSON: one conversation, or JSON Lines of many (`chatctl export`).
    Chatd,
    /// ChatGPT's `conversations.json` (Settings → Data controls → Export data).
    Chatgpt,
}

/// Import conversations from a file: chatd's JSON or ChatGPT's conversations.json.
///
/// Prints one summary line (the server's answer with --json); conversations the server
/// skipped are listed with why. Exit codes: 0 imported (also when some were skipped);
/// 1 the file could not be read; 2 the document is malformed (nothing was imported;
/// the message names the conversation and the line); 3 no such user; 5 no daemon.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file to import.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// What the file is (default: told apart by its shape).
    #[arg(long, value_enum)]
    pub from: Option<ImportSource>,
}

impl ImportArgs {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let file = std::fs::File::open(&self.file)
            .with_context(|| format!("could not open {}", self.file.display()))?;
        let size = file
            .metadata()
            .with_context(|| format!("could not read {}", self.file.display()))?
            .len();
        let user = ctx.user().await?;
        let mut url = ctx.client.url(&["users", &user.id.to_string(), "import"]);
        if let Some(from) = self.from {
            let from = match from {
                ImportSource::Chatd => "chatd",
                ImportSource::Chatgpt => "chatgpt",
            };
            url.query_pairs_mut().append_pair("from", from);
        }
        let bar = progress_bar(&ctx.out, size);
        let body = file_body(file, bar.clone());
        // Looking the user up above started chatd if it had to be.
        let response = ctx
            .client
            .send_once(|http| {
                http.post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::CONTENT_LENGTH, size)
                    .timeout(ARCHIVE_TIMEOUT)
                    .body(body)
            })
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                finish(&bar);
                return Err(err.into());
            }
        };
        let summary: Result<ImportSummary, ApiError> = ctx.client.json(response).await;
        finish(&bar);
        let summary = summary.map_err(|err| with_hint(err, &ctx.client, "import"))?;
        if ctx.out.json {
            return Ok(ctx.out.json(&summary)?);
        }
        let skipped = summary.skipped.len();
        ctx.out.line(&format!(
            "imported {} conversation{} from {}{}",
            summary.imported,
            plural(summary.imported),
            self.file.display(),
            if skipped == 0 {
                String::new()
            } else {
                format!("; skipped {skipped}")
            }
        ))?;
        for skip in &summary.skipped {
            output::note(&format!(
                "  skipped conversation {} of the file: {}",
                skip.index, skip.reason
            ));
        }
        Ok(())
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A 404 from a server whose user was just found: a server without the extension.
fn with_hint(err: ApiError, client: &Client, what: &str) -> anyhow::Error {
    match err {
        ApiError::Status {
            status: 404,
            detail,
        } if detail == "Not Found" => Coded {
            code: ExitCode::NotFound,
            message: format!("the server at {} does not support {what}", client.server()),
        }
        .into(),
        other => other.into(),
    }
}

/// A bar of the bytes sent, on a terminal's stderr and for large files only.
fn progress_bar(out: &Out, size: u64) -> Option<ProgressBar> {
    use std::io::IsTerminal;
    if out.json || size < PROGRESS_FROM_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    let template = if output::no_color() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})"
    } else {
        "{msg} [{bar:30.cyan/dim}] {bytes}/{total_bytes} ({eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("sending");
    Some(bar)
}

fn finish(bar: &Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// The file as a request body, read on a blocking thread a chunk at a time, a few
/// chunks ahead of the network: memory holds those chunks, whatever the file's size.
fn file_body(mut file: std::fs::File, bar: Option<ProgressBar>) -> reqwest::Body {
    let (chunks, mut received) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buffer = vec![0; CHUNK_BYTES];
            let read = match file.read(&mut buffer) {
                Ok(0) => return,
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let _ = chunks.blocking_send(Err(err));
                    return;
                }
            };
            buffer.truncate(read);
            if chunks.blocking_send(Ok(buffer)).is_err() {
                return;
            }
        }
    });
    let stream =
        futures_util::stream::poll_fn(move |cx| received.poll_recv(cx)).map(move |chunk| {
            if let (Ok(chunk), Some(bar)) = (&chunk, &bar) {
                bar.inc(chunk.len() as u64);
                if bar.position() >= bar.length().unwrap_or(0) {
                    bar.set_message("the server is importing");
                }
            }
            chunk
        });
    reqwest::Body::wrap_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_file_sits_beside_its_file() {
        assert_eq!(
            part_path(Path::new("/tmp/x/all.jsonl")),
            Path::new("/tmp/x/all.jsonl.part")
        );
        assert_eq!(part_path(Path::new("out.md")), Path::new("out.md.part"));
    }
}
