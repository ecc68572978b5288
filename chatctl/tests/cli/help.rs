//! `chatctl SUB --help` for every subcommand, found by walking the help itself: the
//! subcommand's own options come before the global ones, and it ends with two or three
//! examples.

use crate::support::Chatctl;

/// The subcommands a help text lists under `Commands:`, less `help` itself.
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, listed)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    listed
        .lines()
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_s_help_puts_its_options_first_and_ends_with_examples() {
    let home = tempfile::tempdir().expect("temp dir");
    let help = |words: &[String]| {
        Chatctl::new(home.path().to_path_buf())
            .args(words)
            .args(["--help"])
            .run()
            .success()
            .stdout
    };
    let mut pending: Vec<Vec<String>> = subcommands(&help(&[]))
        .into_iter()
        .map(|name| vec![name])
        .collect();
    let mut leaves = 0;
    // Bounded by the command tree: each subcommand is visited once.
    while let Some(words) = pending.pop() {
        let text = help(&words);
        let children = subcommands(&text);
        if !children.is_empty() {
            pending.extend(children.into_iter().map(|child| {
                let mut path = words.clone();
                path.push(child);
                path
            }));
            continue;
        }
        leaves += 1;
        let own = text.find("\nOptions:\n");
        let global = text.find("\nGlobal options:\n");
        assert!(
            matches!((own, global), (Some(own), Some(global)) if own < global),
            "{words:?}: its own options first\n{text}"
        );
        let (_, examples) = text
            .trim_end()
            .rsplit_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{words:?} ends without examples\n{text}"));
        let examples: Vec<&str> = examples.lines().collect();
        assert!(
            (2..=3).contains(&examples.len())
                && examples
                    .iter()
                    .all(|e| e.starts_with("  ") && e.contains("chatctl ")),
            "{words:?}: two or three examples at the end\n{text}"
        );
        let command = words.join(" ");
        assert!(
            examples.iter().any(|e| e.contains(&command)),
            "{words:?}: the examples use it\n{text}"
        );
    }
    assert!(leaves >= 15, "only {leaves} subcommands found");
}
