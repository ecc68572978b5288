//! The exit codes of `chatctl`, the one place that fixes what each number means, so that
//! scripts can tell "the conversation does not exist" from "the daemon is down".
//!
//! The table is repeated in `--help` and in the README section; a test pins the numbers.

use std::process::ExitCode as ProcessExitCode;

/// How `chatctl` ended. The numbers are part of the interface: never renumber a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: the command did what was asked (also when stdout was closed early, as by `head`).
    Success,
    /// 1: anything not covered below: an unexpected answer, a local I/O error, a reply that
    /// somebody else cancelled.
    Failure,
    /// 2: the command line was wrong, or the server rejected the input as invalid
    /// (400/413/422).
    Usage,
    /// 3: the user, the conversation or the endpoint does not exist (404), the
    /// conversation is another user's, or there is no reply to cancel.
    NotFound,
    /// 4: a conflict: the username is taken, or a reply is already streaming on that
    /// conversation (409).
    Conflict,
    /// 5: no daemon answered at the server address (and it could not be started), or
    /// something answered there that is not the chat API (a wrong path in --server).
    Unreachable,
    /// 6: the LLM provider failed (502/503/504), or the reply ended failed, interrupted
    /// or truncated (cut at the model's token limit).
    Provider,
    /// 130: interrupted by Ctrl-C (the reply in progress was cancelled).
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::NotFound => 3,
            ExitCode::Conflict => 4,
            ExitCode::Unreachable => 5,
            ExitCode::Provider => 6,
            ExitCode::Interrupted => 130,
        }
    }
}

impl From<ExitCode> for ProcessExitCode {
    fn from(code: ExitCode) -> Self {
        ProcessExitCode::from(code.code())
    }
}

/// The table shown at the end of `chatctl --help`.
pub const HELP: &str = "\
Exit codes:
  0    success (also when stdout is closed early, e.g. by `head`)
  1    other failure (unexpected answer, local I/O error, reply cancelled elsewhere)
  2    usage error, or the server rejected the input (400/413/422)
  3    not found: user, conversation or endpoint (404); another user's conversation;
       no reply in progress to cancel
  4    conflict: username taken, or a reply already streaming (409)
  5    daemon unreachable, or no chat API at --server's path
  6    LLM provider failure (502/503/504, or the reply ended failed/interrupted/truncated)
  130  interrupted by Ctrl-C (the reply was cancelled)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stable() {
        let all = [
            (ExitCode::Success, 0),
            (ExitCode::Failure, 1),
            (ExitCode::Usage, 2),
            (ExitCode::NotFound, 3),
            (ExitCode::Conflict, 4),
            (ExitCode::Unreachable, 5),
            (ExitCode::Provider, 6),
            (ExitCode::Interrupted, 130),
        ];
        for (code, number) in all {
            assert_eq!(code.code(), number, "{code:?}");
            assert!(
                HELP.contains(&format!("  {number} ")),
                "{code:?} missing from HELP"
            );
        }
    }
}
