//! Reading messages from stdin, for `send` (the whole of it) and a piped `chat` (a line
//! at a time), with one answer for input that is not text: the API carries UTF-8 only,
//! so bytes that are not UTF-8 are the caller's mistake (exit 2), said the same way
//! whichever command read them.

use std::io::{IsTerminal, Read};

use crate::error::Coded;

/// The one wording for stdin that is not UTF-8.
fn not_utf8() -> Coded {
    Coded::usage(
        "stdin is not UTF-8 text; chatctl sends text only (convert it first, e.g. with \
         `iconv -t UTF-8`)",
    )
}

/// Whether a message can come from stdin without asking: it is a pipe or a file.
pub fn is_piped() -> bool {
    !std::io::stdin().is_terminal()
}

/// The whole of stdin as text, less one final line break (what `echo` adds).
pub async fn read_message() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        crate::output::note("Type the message, then Ctrl-D on a line of its own.");
    }
    let bytes = tokio::task::spawn_blocking(|| {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    })
    .await??;
    let text = String::from_utf8(bytes).map_err(|_| not_utf8())?;
    Ok(strip_final_newline(text))
}

/// The error for a failed read of one line of a piped session.
pub fn line_error(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::InvalidData {
        return not_utf8().into();
    }
    anyhow::Error::new(err).context("could not read stdin")
}

fn strip_final_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_final_newline_goes() {
        assert_eq!(strip_final_newline("hi\n".into()), "hi");
        assert_eq!(strip_final_newline("hi\r\n".into()), "hi");
        assert_eq!(strip_final_newline("a\n\nb\n\n".into()), "a\n\nb\n");
        assert_eq!(strip_final_newline("hi".into()), "hi");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_a_usage_error() {
        let err = line_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ));
        let verdict = crate::error::classify(&err);
        assert_eq!(verdict.code, crate::exit_codes::ExitCode::Usage);
        assert_eq!(err.to_string(), not_utf8().to_string());
    }
}
