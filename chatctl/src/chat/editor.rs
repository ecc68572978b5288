//! `/edit` in the person's own editor: `$VISUAL`, else `$EDITOR`, run as git runs it
//! (through `sh`, so `code --wait` or `emacs -nw` work), on a private temporary file
//! holding the message. Without either, the session's prompt edits it inline.

use std::ffi::OsString;
use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;

use crate::error::Coded;

/// What an edit gave back.
#[derive(Debug, PartialEq, Eq)]
pub enum Edited {
    Text(String),
    /// The person left the editor without an answer (Ctrl-C in the inline one).
    Left,
}

/// The largest file read back: chatd refuses a body over 1 MiB anyway, and a file the
/// editor grew without bound is not read whole into memory.
const MAX_EDITED_BYTES: u64 = 1024 * 1024;

/// The editor to run, when the person has named one.
pub fn external() -> Option<OsString> {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .filter_map(std::env::var_os)
        .find(|command| !command.is_empty())
}

/// Runs `command` on a file holding `text` and reads back what it left there.
pub async fn edit_in(command: &OsString, text: &str) -> anyhow::Result<Edited> {
    // A directory of our own (0700), so nobody else on the machine reads the message.
    let dir = tempfile::Builder::new()
        .prefix("chatctl-edit-")
        .tempdir()
        .context("could not make a temporary file for the editor")?;
    let path = dir.path().join("message.md");
    std::fs::write(&path, text).context("could not make a temporary file for the editor")?;
    let shown = command.to_string_lossy().into_owned();
    let mut line = command.clone();
    line.push(" \"$1\"");
    let file = path.clone();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .arg("chatctl-edit")
            .arg(file)
            .status()
    })
    .await?
    .with_context(|| format!("could not start the editor ({shown})"))?;
    if !status.success() {
        return Err(Coded::usage(format!(
            "the editor ({shown}) exited with {status}; nothing sent"
        ))
        .into());
    }
    read_back(&path)
}

fn read_back(path: &Path) -> anyhow::Result<Edited> {
    let file = std::fs::File::open(path).context("could not read what the editor saved")?;
    let mut bytes = Vec::new();
    file.take(MAX_EDITED_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("could not read what the editor saved")?;
    if bytes.len() as u64 > MAX_EDITED_BYTES {
        return Err(Coded::usage(format!(
            "the edited message is over {MAX_EDITED_BYTES} bytes; nothing sent"
        ))
        .into());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Coded::usage("the edited message is not UTF-8 text; nothing sent"))?;
    Ok(Edited::Text(text))
}
