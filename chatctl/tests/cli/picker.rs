//! The conversation picker of `chatctl chat` on a terminal: the list's columns, the
//! current one marked, and filtering as one types.

use crate::pty::{Pty, wait_exit};
use crate::support::{Daemon, chatctl_bin, with_user};

#[test]
fn the_picker_shows_the_list_and_filters_as_one_types() {
    let daemon = Daemon::start();
    with_user(&daemon, "pia");
    for name in ["Trip to Kyoto", "Sourdough recipes"] {
        daemon
            .chatctl()
            .args(["conv", "new", "--name", name])
            .run()
            .success();
    }
    let mut command = testkit::isolated(chatctl_bin(), &daemon.home());
    command
        .args(["chat"])
        .env("CHATCTL_SERVER", &daemon.url)
        .env("NO_COLOR", "1");
    let (mut pty, mut child) = Pty::spawn(command);
    let shown = pty.wait_for("the picker", |t| t.contains("Trip to Kyoto"));
    assert!(shown.contains("+ new conversation"), "{shown:?}");
    // The last one made is the current one, marked, with its message count.
    assert!(shown.contains("* 2  Sourdough recipes"), "{shown:?}");
    assert!(shown.contains("0 msgs"), "{shown:?}");

    pty.type_keys("kyo");
    pty.wait_for("the filtered list", |t| {
        t.rsplit("kyo")
            .next()
            .is_some_and(|after| after.contains("Trip to Kyoto") && !after.contains("Sourdough"))
    });
    pty.type_keys("\r");
    pty.wait_for("the chosen conversation", |t| {
        t.contains("conversation 1 \"Trip to Kyoto\"")
    });
    pty.type_keys("/quit\r");
    let text = pty.wait_for("the end", |_| true);
    assert_eq!(wait_exit(&mut child).code(), Some(0), "{text:?}");
}
