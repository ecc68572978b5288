//! `chatctl daemon logs [-f]`: the log of the chatd that chatctl started.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use crate::autostart;
use crate::context::Ctx;
use crate::error::Coded;
use crate::exit_codes::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  chatctl daemon logs
  chatctl daemon logs -n 20
  chatctl daemon logs -f";

/// How often `-f` looks for more.
const FOLLOW_POLL: Duration = Duration::from_millis(250);
/// What one read takes at most, so a huge log streams in pieces.
const CHUNK: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep printing what chatd writes, until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// How many of the last lines to print first (0: the whole log).
    #[arg(short = 'n', long, default_value_t = 100, value_name = "N")]
    pub lines: usize,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let path = ctx
            .client
            .data_dir()
            .map(autostart::log_path)
            .ok_or_else(|| Coded::usage("no data directory for chatd's log (is HOME set?)"))?;
        if !path.is_file() {
            return Err(Coded {
                code: ExitCode::NotFound,
                message: format!(
                    "no log at {} yet; chatctl writes it when it starts chatd \
                     (`chatctl daemon start`)",
                    path.display()
                ),
            }
            .into());
        }
        let mut offset = print_tail(&path, self.lines)?;
        if !self.follow {
            return Ok(());
        }
        // Follows until Ctrl-C, as `tail -f` does; each pass reads what was appended.
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = &mut ctrl_c => return Ok(()),
                () = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            let len = std::fs::metadata(&path).map_or(0, |m| m.len());
            // A log truncated or replaced starts over.
            if len < offset {
                offset = 0;
            }
            while offset < len {
                offset += copy_range(&path, offset, CHUNK.min(len - offset))?;
            }
        }
    }
}

/// Prints the last `lines` lines (all for 0); returns the offset printed up to.
fn print_tail(path: &Path, lines: usize) -> anyhow::Result<u64> {
    let len = std::fs::metadata(path)?.len();
    let start = if lines == 0 {
        0
    } else {
        tail_offset(path, len, lines)?
    };
    let mut offset = start;
    while offset < len {
        offset += copy_range(path, offset, CHUNK.min(len - offset))?;
    }
    Ok(len)
}

/// Where the last `lines` lines of the file begin, reading back from its end a block
/// at a time.
fn tail_offset(path: &Path, len: u64, lines: usize) -> anyhow::Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path)?;
    let mut end = len;
    let mut newlines = 0;
    // The final line break ends the last line; it does not start another.
    let mut skip_final = true;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let mut block = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        for (i, byte) in block.iter().enumerate().rev() {
            if *byte != b'\n' {
                skip_final = false;
                continue;
            }
            if skip_final {
                skip_final = false;
                continue;
            }
            newlines += 1;
            if newlines == lines {
                return Ok(start + i as u64 + 1);
            }
        }
        end = start;
    }
    Ok(0)
}

/// Copies `len` bytes of the file from `offset` to stdout; returns how many it copied.
fn copy_range(path: &Path, offset: u64, len: u64) -> anyhow::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(len).read_to_end(&mut bytes)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    // A file cut shorter meanwhile must not spin: count at least one byte.
    Ok((bytes.len() as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_starts_at_the_right_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.log");
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        let len = 14;
        assert_eq!(tail_offset(&path, len, 1).unwrap(), 8);
        assert_eq!(tail_offset(&path, len, 2).unwrap(), 4);
        assert_eq!(tail_offset(&path, len, 3).unwrap(), 0);
        assert_eq!(tail_offset(&path, len, 9).unwrap(), 0);
        std::fs::write(&path, "one\ntwo").unwrap();
        assert_eq!(tail_offset(&path, 7, 1).unwrap(), 4);
    }
}
