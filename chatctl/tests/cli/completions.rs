//! The committed completion scripts are what the binary prints.

use crate::support::Chatctl;

#[test]
fn committed_completions_match_the_binary() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../completions");
    for (shell, file) in [
        ("bash", "chatctl.bash"),
        ("zsh", "_chatctl"),
        ("fish", "chatctl.fish"),
        ("elvish", "chatctl.elv"),
        ("powershell", "_chatctl.ps1"),
    ] {
        let run = Chatctl::new(home.path().to_path_buf())
            .args(["completions", shell])
            .run()
            .success();
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            run.stdout == committed,
            "completions/{file} is stale; regenerate it with \
             `cargo run -p chatctl -- completions {shell} > completions/{file}`"
        );
    }
}
