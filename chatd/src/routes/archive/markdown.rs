//! A conversation as Markdown, for people: front matter with the ids and dates, a
//! heading with the name, a section per message with its text as it was written (code
//! fences and all), and the reasoning of a reply folded into a `<details>` block. The
//! text of messages is untrusted (model output, imported files): it is written so that
//! it can neither leave its section nor be live HTML ([`Untrusted`]).

use std::fmt::Write as _;

use common::archive::ConversationExport;
use common::{Message, MessageStatus, Role};

/// The Markdown of an exported conversation: its active path, the line a reader of
/// `GET /conversations/{id}` sees (the other branches are in the JSON export).
pub fn render(document: &ConversationExport) -> String {
    let conversation = &document.conversation;
    let path = document.active_path();
    let mut out = String::new();
    let title = conversation
        .name
        .clone()
        .unwrap_or_else(|| format!("Conversation {}", conversation.id));
    out.push_str("---\n");
    // JSON strings are YAML double-quoted scalars: any name is safe here.
    let _ = writeln!(out, "title: {}", quoted(&title));
    let _ = writeln!(out, "conversation_id: {}", conversation.id);
    let _ = writeln!(out, "user_id: {}", conversation.user_id);
    let _ = writeln!(out, "created_at: {}", quoted(&conversation.created_at));
    if let Some(last) = path.last() {
        let _ = writeln!(out, "updated_at: {}", quoted(&last.created_at));
    }
    if let Some(model) = &conversation.model {
        let _ = writeln!(out, "model: {}", quoted(model));
    }
    let _ = writeln!(out, "messages: {}", path.len());
    let _ = writeln!(
        out,
        "format: {}",
        quoted(&format!(
            "{}.markdown/{}",
            document.format, document.version
        ))
    );
    out.push_str("---\n\n");
    let _ = writeln!(out, "# {}\n", escape_inline(&one_line(&title)));
    if let Some(prompt) = &conversation.system_prompt {
        out.push_str("> **System prompt**\n>\n");
        for line in prompt.lines() {
            let _ = writeln!(out, "> {}", escape_inline(line));
        }
        out.push('\n');
    }
    for message in path {
        section(&mut out, message);
    }
    out
}

fn section(out: &mut String, message: &Message) {
    let who = match message.role {
        Role::User => "User",
        Role::Assistant => "Assistant",
    };
    let mut heading = format!("## {who} · {}", message.created_at);
    if let Some(model) = &message.model {
        let _ = write!(heading, " · {}", escape_inline(&one_line(model)));
    }
    if let Some(status) = message.status.filter(|s| *s != MessageStatus::Complete) {
        let _ = write!(heading, " · {}", status.as_str());
    }
    let _ = writeln!(out, "{heading}\n");
    if let Some(reasoning) = message
        .reasoning
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        out.push_str("<details>\n<summary>Reasoning</summary>\n\n");
        push_text(out, reasoning);
        out.push_str("</details>\n\n");
    }
    push_text(out, &message.content);
}

/// A message's text (or its reasoning), ended by a blank line. Model output is
/// untrusted, so it is written so that it cannot leave its section nor become live
/// HTML: see [`Untrusted`].
fn push_text(out: &mut String, text: &str) {
    let mut writer = Untrusted::default();
    for line in text.trim_end_matches('\n').split('\n') {
        writer.line(out, line.trim_end_matches('\r'));
    }
    writer.finish(out);
    out.push('\n');
}

/// Writes untrusted Markdown line by line, keeping what a reader wants (code fences,
/// inline code, lists, emphasis, its own headings) and neutralising what could break the
/// document:
///
/// - outside code, `<` is written `&lt;`, so no tag (`<script>`, `</details>`, `<img
///   onerror>`) or HTML comment is ever live; inside fenced code and inline code spans,
///   where renderers show text literally, it is left alone;
/// - its ATX headings are moved three levels down (`#` → `####`, at most `######`), so
///   no line of a message is a heading of the document's own levels (`#`, `##`);
/// - a line that would turn the line above it into a setext heading (`===`, `---`) is
///   preceded by a blank line, making it a rule or a paragraph;
/// - a code fence it leaves open is closed with a fence of its own kind and length, so
///   the sections after it are not read as code.
#[derive(Default)]
struct Untrusted {
    /// The open fence's character and length.
    fence: Option<(char, usize)>,
    /// Whether the last line written was blank (or none was).
    previous_blank: bool,
    started: bool,
}

impl Untrusted {
    fn line(&mut self, out: &mut String, line: &str) {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        if let Some((fence_char, fence_len)) = self.fence {
            let run = body.chars().take_while(|c| *c == fence_char).count();
            if indent < 4
                && run >= fence_len
                && body[run * fence_char.len_utf8()..].trim().is_empty()
            {
                self.fence = None;
            }
            out.push_str(line);
            out.push('\n');
            self.wrote(line);
            return;
        }
        if indent < 4 {
            if let Some(fence) = fence_opening(body) {
                self.fence = Some(fence);
                out.push_str(line);
                out.push('\n');
                self.wrote(line);
                return;
            }
            if let Some(level) = atx_level(body) {
                let deeper = (level + 3).min(6);
                out.push_str(&"#".repeat(deeper));
                out.push_str(&escape_inline(&body[level..]));
                out.push('\n');
                self.wrote(line);
                return;
            }
            if self.started && !self.previous_blank && is_setext_underline(body) {
                out.push('\n');
            }
        }
        out.push_str(&escape_inline(line));
        out.push('\n');
        self.wrote(line);
    }

    fn wrote(&mut self, line: &str) {
        self.previous_blank = line.trim().is_empty();
        self.started = true;
    }

    fn finish(self, out: &mut String) {
        if let Some((fence_char, fence_len)) = self.fence {
            out.push_str(&fence_char.to_string().repeat(fence_len));
            out.push('\n');
        }
    }
}

/// A fence opening: three or more backticks or tildes (a backtick fence's info string
/// has no backtick).
fn fence_opening(body: &str) -> Option<(char, usize)> {
    let first = body.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = body.chars().take_while(|c| *c == first).count();
    if run < 3 {
        return None;
    }
    if first == '`' && body[run..].contains('`') {
        return None;
    }
    Some((first, run))
}

/// The level of an ATX heading line (`#` to `######` then a space or the end).
fn atx_level(body: &str) -> Option<usize> {
    let level = body.chars().take_while(|c| *c == '#').count();
    let rest = &body[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        .then_some(level)
}

fn is_setext_underline(body: &str) -> bool {
    let trimmed = body.trim_end();
    let Some(first) = trimmed.chars().next().filter(|c| *c == '=' || *c == '-') else {
        return false;
    };
    trimmed.chars().all(|c| c == first)
}

/// A line outside code: every `<` becomes `&lt;` except inside inline code spans (a run
/// of backticks up to the next run of the same length on the line, the opening one not
/// escaped by a backslash). A span CommonMark would carry over to the next line is
/// escaped here anyway: at worst it shows `&lt;` literally, never live HTML.
fn escape_inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let mut backslashes = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' && backslashes % 2 == 0 {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            if let Some(end) = closing_run(&chars, i + run, run) {
                out.extend(&chars[i..end + run]);
                i = end + run;
                backslashes = 0;
                continue;
            }
            out.extend(&chars[i..i + run]);
            i += run;
            backslashes = 0;
            continue;
        }
        if c == '<' {
            out.push_str("&lt;");
        } else {
            out.push(c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        i += 1;
    }
    out
}

/// Where a run of exactly `run` backticks starts at or after `from`.
fn closing_run(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '`' {
            let length = chars[i..].iter().take_while(|c| **c == '`').count();
            if length == run {
                return Some(i);
            }
            i += length;
        } else {
            i += 1;
        }
    }
    None
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::archive::ExportedConversation;

    fn message(role: Role, content: &str, reasoning: Option<&str>) -> Message {
        Message {
            role,
            content: content.into(),
            id: 1,
            conversation_id: 7,
            created_at: "2026-12-02T01:00:00.000000Z".into(),
            status: Some(MessageStatus::Complete),
            model: None,
            finish_reason: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            reasoning: reasoning.map(Into::into),
            parent_id: None,
        }
    }

    #[test]
    fn front_matter_heading_sections_fences_and_reasoning() {
        let document = ConversationExport {
            format: "chatd.conversation".into(),
            version: 1,
            conversation: ExportedConversation {
                id: 7,
                user_id: 3,
                name: Some("Rust \"tips\"".into()),
                created_at: "2026-12-02T00:00:00.000000Z".into(),
                title_source: None,
                model: None,
                system_prompt: None,
                params: None,
                active_leaf_id: None,
            },
            messages: vec![
                message(Role::User, "How?\n```rust\nfn main() {}\n```", None),
                message(Role::Assistant, "```\nunclosed", Some("think first")),
            ],
        };
        let text = render(&document);
        assert!(
            text.starts_with("---\ntitle: \"Rust \\\"tips\\\"\"\nconversation_id: 7\nuser_id: 3\n")
        );
        assert!(text.contains("\n# Rust \"tips\"\n"));
        assert!(text.contains(
            "## User · 2026-12-02T01:00:00.000000Z\n\nHow?\n```rust\nfn main() {}\n```\n\n"
        ));
        assert!(text.contains(
            "## Assistant · 2026-12-02T01:00:00.000000Z\n\n<details>\n<summary>Reasoning</summary>\n\nthink first\n\n</details>\n\n```\nunclosed\n```\n"
        ));
    }

    fn rendered(content: &str) -> String {
        let mut out = String::new();
        push_text(&mut out, content);
        out
    }

    #[test]
    fn html_outside_code_is_never_live() {
        assert_eq!(
            rendered("<script>alert(1)</script> and </details><img src=x onerror=y>"),
            "&lt;script>alert(1)&lt;/script> and &lt;/details>&lt;img src=x onerror=y>\n\n"
        );
        assert_eq!(rendered("<!-- hidden -->"), "&lt;!-- hidden -->\n\n");
        // Inline code and fenced code are shown literally by renderers: left alone.
        assert_eq!(
            rendered("use `Vec<u8>` not ``a<b``, but \\`<b>`"),
            "use `Vec<u8>` not ``a<b``, but \\`&lt;b>`\n\n"
        );
        assert_eq!(
            rendered("```html\n<b>bold</b>\n```\n<i>"),
            "```html\n<b>bold</b>\n```\n&lt;i>\n\n"
        );
    }

    #[test]
    fn a_message_cannot_make_headings_of_the_documents_levels() {
        assert_eq!(
            rendered("# Title\n## Assistant · forged\n###### deep\n#hashtag"),
            "#### Title\n##### Assistant · forged\n###### deep\n#hashtag\n\n"
        );
        assert_eq!(
            rendered("Forged heading\n---\nand\n==="),
            "Forged heading\n\n---\nand\n\n===\n\n"
        );
        // Inside a fence, nothing is touched.
        assert_eq!(
            rendered("~~~\n# not a heading\n~~~"),
            "~~~\n# not a heading\n~~~\n\n"
        );
    }

    #[test]
    fn an_open_fence_is_closed_with_its_own_kind_and_length() {
        assert_eq!(
            rendered("````md\n```\nstill code"),
            "````md\n```\nstill code\n````\n\n"
        );
        assert_eq!(rendered("~~~\ncode"), "~~~\ncode\n~~~\n\n");
        // A closing fence may be longer than the opening one.
        assert_eq!(rendered("```\na\n`````\n<b>"), "```\na\n`````\n&lt;b>\n\n");
    }
}
