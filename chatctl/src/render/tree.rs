//! pulldown-cmark's events turned into a small tree of the blocks a terminal can show,
//! one top-level block at a time with the byte range it came from (the streaming
//! renderer cuts the text at those ranges).

use std::ops::Range;

use pulldown_cmark::{Alignment, CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::inline::{Span, Style};

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Span>),
    Heading(u8, Vec<Span>),
    Code { lang: String, text: String },
    Quote(Vec<Block>),
    List(List),
    Table(Table),
    Rule,
    Html(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// The first number of an ordered list.
    pub start: Option<u64>,
    /// Whether items are set apart by blank lines (a "loose" list).
    pub loose: bool,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// `[x]` / `[ ]` of a task list.
    pub task: Option<bool>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub alignments: Vec<Alignment>,
    pub head: Vec<Vec<Span>>,
    pub rows: Vec<Vec<Vec<Span>>>,
}

/// The parser's options: GitHub's tables, strikethrough and task lists. Footnotes stay
/// off: a footnote's text comes later than its reference, which a reply printed block
/// by block cannot show.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// The top-level blocks of `text`, each with its byte range in `text`.
pub fn parse(text: &str) -> Vec<(Range<usize>, Block)> {
    let mut builder = Builder::default();
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match &event {
            Event::Start(_) => {
                if depth == 0 {
                    start = range.start;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ if depth == 0 => start = range.start,
            _ => {}
        }
        builder.event(event);
        if depth == 0
            && let Some(block) = builder.take_top()
        {
            blocks.push((start..range.end, block));
        }
    }
    blocks
}

/// What is being built: a stack of open containers, each with the blocks it holds.
#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    /// Inline content of the paragraph, heading or table cell being read.
    spans: Vec<Span>,
    styles: Vec<Style>,
    /// URLs of the links being read, printed after their text.
    links: Vec<String>,
    code: Option<(String, String)>,
    html: Option<String>,
    done: Vec<Block>,
}

enum Open {
    Quote(Vec<Block>),
    List(List),
    Item(Item),
    Table(Table, Vec<Vec<Span>>, bool),
}

impl Builder {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, change: impl FnOnce(&mut Style)) {
        let mut style = self.style();
        change(&mut style);
        self.styles.push(style);
    }

    fn text(&mut self, text: &str, style: Style) {
        if let Some((_, code)) = &mut self.code {
            code.push_str(text);
        } else if let Some(html) = &mut self.html {
            html.push_str(text);
        } else {
            self.spans.push(Span::new(text, style));
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text, self.style()),
            Event::Code(text) => {
                let style = Style {
                    code: true,
                    ..self.style()
                };
                self.text(&text, style);
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => {
                self.text(&text, self.style());
            }
            Event::Html(text) | Event::InlineHtml(text) => self.text(&text, self.style()),
            Event::SoftBreak => self.text(" ", self.style()),
            Event::HardBreak => self.spans.push(Span::line_break()),
            Event::Rule => self.finish(Block::Rule),
            Event::TaskListMarker(checked) => {
                if let Some(Open::Item(item)) = self.stack.last_mut() {
                    item.task = Some(checked);
                }
            }
            Event::FootnoteReference(name) => self.text(&format!("[^{name}]"), self.style()),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        if matches!(
            tag,
            Tag::List(_)
                | Tag::Item
                | Tag::BlockQuote(_)
                | Tag::CodeBlock(_)
                | Tag::HtmlBlock
                | Tag::Table(_)
                | Tag::Heading { .. }
        ) {
            self.flush_tight_text();
        }
        match tag {
            Tag::Paragraph | Tag::Heading { .. } | Tag::TableCell => self.spans.clear(),
            Tag::BlockQuote(_) => self.stack.push(Open::Quote(Vec::new())),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::HtmlBlock => self.html = Some(String::new()),
            Tag::List(start) => self.stack.push(Open::List(List {
                start,
                loose: false,
                items: Vec::new(),
            })),
            Tag::Item => self.stack.push(Open::Item(Item::default())),
            Tag::Table(alignments) => self.stack.push(Open::Table(
                Table {
                    alignments,
                    ..Table::default()
                },
                Vec::new(),
                false,
            )),
            Tag::TableHead => {
                if let Some(Open::Table(_, row, head)) = self.stack.last_mut() {
                    row.clear();
                    *head = true;
                }
            }
            Tag::TableRow => {
                if let Some(Open::Table(_, row, _)) = self.stack.last_mut() {
                    row.clear();
                }
            }
            Tag::Emphasis => self.push_style(|s| s.italic = true),
            Tag::Strong => self.push_style(|s| s.bold = true),
            Tag::Strikethrough => self.push_style(|s| s.strike = true),
            Tag::Link { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                self.push_style(|s| s.link = true);
            }
            Tag::Image { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                self.text("[image: ", self.style());
                self.push_style(|s| s.link = true);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                let spans = std::mem::take(&mut self.spans);
                if let Some(Open::List(list)) = self.list_of_open_item() {
                    list.loose = true;
                }
                self.finish(Block::Paragraph(spans));
            }
            TagEnd::Heading(level) => {
                let spans = std::mem::take(&mut self.spans);
                self.finish(Block::Heading(level as u8, spans));
            }
            TagEnd::CodeBlock => {
                if let Some((lang, text)) = self.code.take() {
                    self.finish(Block::Code { lang, text });
                }
            }
            TagEnd::HtmlBlock => {
                if let Some(html) = self.html.take() {
                    self.finish(Block::Html(html));
                }
            }
            TagEnd::BlockQuote(_) => {
                if let Some(Open::Quote(blocks)) = self.stack.pop() {
                    self.finish(Block::Quote(blocks));
                }
            }
            TagEnd::Item => {
                self.flush_tight_text();
                if let Some(Open::Item(item)) = self.stack.pop()
                    && let Some(Open::List(list)) = self.stack.last_mut()
                {
                    list.items.push(item);
                }
            }
            TagEnd::List(_) => {
                if let Some(Open::List(list)) = self.stack.pop() {
                    self.finish(Block::List(list));
                }
            }
            TagEnd::TableCell => {
                let spans = std::mem::take(&mut self.spans);
                if let Some(Open::Table(_, row, _)) = self.stack.last_mut() {
                    row.push(spans);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(Open::Table(table, row, head)) = self.stack.last_mut() {
                    let row = std::mem::take(row);
                    if std::mem::take(head) {
                        table.head = row;
                    } else {
                        table.rows.push(row);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(Open::Table(table, _, _)) = self.stack.pop() {
                    self.finish(Block::Table(table));
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                self.styles.pop();
                let url = self.links.pop().unwrap_or_default();
                let image = matches!(tag, TagEnd::Image);
                let shown: String = self.spans.iter().map(|s| s.text.as_str()).collect();
                if image {
                    self.text("]", self.style());
                }
                if !url.is_empty() && !shown.ends_with(&url) {
                    let style = Style {
                        dim: true,
                        ..self.style()
                    };
                    self.text(&format!(" ({url})"), style);
                }
            }
            _ => {}
        }
    }

    /// Text directly in a list item (a "tight" list has no paragraph around it).
    fn flush_tight_text(&mut self) {
        if !self.spans.is_empty() && matches!(self.stack.last(), Some(Open::Item(_))) {
            let spans = std::mem::take(&mut self.spans);
            self.finish(Block::Paragraph(spans));
        }
    }

    fn list_of_open_item(&mut self) -> Option<&mut Open> {
        let n = self.stack.len();
        if n >= 2 && matches!(self.stack[n - 1], Open::Item(_)) {
            return self.stack.get_mut(n - 2);
        }
        None
    }

    /// A finished block goes into the innermost open container, else it is done.
    fn finish(&mut self, block: Block) {
        match self.stack.last_mut() {
            Some(Open::Quote(blocks)) => blocks.push(block),
            Some(Open::Item(item)) => item.blocks.push(block),
            Some(Open::List(_)) | Some(Open::Table(..)) => {}
            None => self.done.push(block),
        }
    }

    fn take_top(&mut self) -> Option<Block> {
        self.done.pop()
    }
}
