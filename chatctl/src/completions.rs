//! `chatctl completions SHELL`: the static shell completion scripts, generated from the
//! clap definition. The same scripts are committed under `completions/`; a test fails
//! when they are stale (regenerate them with `chatctl completions SHELL >
//! completions/FILE`). `dynamic.rs` completes values that only the daemon knows, for
//! shells set up with `COMPLETE=$SHELL chatctl`.

pub mod dynamic;

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&generate(self.shell))?;
        stdout.flush()?;
        Ok(())
    }
}

/// The completion script for `shell`.
pub fn generate(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "chatctl", &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file each shell's script is committed as, under `completions/` (the names
    /// `clap_complete` would pick).
    fn file_name(shell: Shell) -> &'static str {
        match shell {
            Shell::Bash => "chatctl.bash",
            Shell::Zsh => "_chatctl",
            Shell::Fish => "chatctl.fish",
            Shell::Elvish => "chatctl.elv",
            Shell::PowerShell => "_chatctl.ps1",
            _ => "chatctl.unknown",
        }
    }

    #[test]
    fn committed_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("completions");
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let name = file_name(shell);
            let committed = std::fs::read(dir.join(name)).unwrap_or_default();
            assert!(
                committed == generate(shell),
                "completions/{name} is stale or missing; regenerate it with \
                 `cargo run -p chatctl -- completions {shell} > completions/{name}`"
            );
        }
    }
}
