//! Blocks laid out as terminal lines: headings, paragraphs, lists, block quotes, tables,
//! code and rules, each within a width, containers by prefixing their children's lines.

use pulldown_cmark::Alignment;

use super::inline::{Span, Style, paint, width, wrap};
use super::tree::{Block, List, Table};
use super::{Options, highlight};

/// The lines of `block` (without line ends), none wider than `options.width` except
/// code, which is never cut (it would no longer run when copied).
pub fn lines(block: &Block, options: Options) -> Vec<String> {
    let color = options.color;
    match block {
        Block::Paragraph(spans) => wrap(spans, options.width, color),
        Block::Heading(level, spans) => heading(*level, spans, options),
        Block::Code { lang, text } => code(lang, text, color),
        Block::Quote(blocks) => {
            let bar = if color {
                paint("│", dim(), true) + " "
            } else {
                "> ".to_string()
            };
            let inner = stacked(blocks, false, options.narrower(2));
            prefixed(inner, &bar, &bar)
        }
        Block::List(list) => self::list(list, options),
        Block::Table(table) => self::table(table, options),
        Block::Rule => {
            let rule = "─".repeat(options.width.clamp(3, 80));
            vec![if color {
                paint(&rule, dim(), true)
            } else {
                rule
            }]
        }
        Block::Html(html) => html
            .trim_end_matches('\n')
            .lines()
            .map(|line| {
                if color {
                    paint(line, dim(), true)
                } else {
                    line.to_string()
                }
            })
            .collect(),
    }
}

fn dim() -> Style {
    Style {
        dim: true,
        ..Style::default()
    }
}

/// Blocks one under the other; with `gap`, a blank line between them.
fn stacked(blocks: &[Block], gap: bool, options: Options) -> Vec<String> {
    let mut out = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        // A tight item's text and its sublist stay together.
        if i > 0 && (gap || !matches!(block, Block::List(_))) {
            out.push(String::new());
        }
        out.extend(lines(block, options));
    }
    out
}

/// `first` before the first line, `rest` before the others (empty lines get only the
/// prefix's visible part, without trailing spaces).
fn prefixed(lines: Vec<String>, first: &str, rest: &str) -> Vec<String> {
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let prefix = if i == 0 { first } else { rest };
            if line.is_empty() {
                prefix.trim_end().to_string()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect()
}

fn heading(level: u8, spans: &[Span], options: Options) -> Vec<String> {
    if !options.color {
        let marks = "#".repeat(usize::from(level.max(1)));
        let text = wrap(spans, options.width.saturating_sub(marks.len() + 1), false);
        let indent = " ".repeat(marks.len() + 1);
        return prefixed(text, &format!("{marks} "), &indent);
    }
    let styled: Vec<Span> = spans
        .iter()
        .map(|span| Span {
            style: Style {
                bold: true,
                underline: level == 1 || span.style.underline,
                fg: Some(if level <= 2 { 35 } else { 36 }),
                ..span.style
            },
            ..span.clone()
        })
        .collect();
    wrap(&styled, options.width, true)
}

fn code(lang: &str, text: &str, color: bool) -> Vec<String> {
    let fence = format!("```{lang}");
    let body = highlight::code(lang, text, color);
    let mut out = Vec::with_capacity(body.len() + 2);
    if color {
        out.push(paint(&fence, dim(), true));
        out.extend(body);
        out.push(paint("```", dim(), true));
    } else {
        out.push(fence);
        out.extend(body);
        out.push("```".to_string());
    }
    out
}

const BULLETS: [&str; 3] = ["•", "◦", "▪"];

fn list(list: &List, options: Options) -> Vec<String> {
    let last_number = list
        .start
        .map(|s| s + list.items.len().saturating_sub(1) as u64);
    let marker_width = last_number.map_or(2, |n| n.to_string().len() + 2);
    let depth = options.list_depth;
    let mut out = Vec::new();
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 && list.loose {
            out.push(String::new());
        }
        let marker = match list.start {
            Some(start) => format!("{}.", start + i as u64),
            None => BULLETS[depth % BULLETS.len()].to_string(),
        };
        let mut first = format!("{marker:<marker_width$}");
        if first.len() == marker.len() {
            first.push(' ');
        }
        let indent = " ".repeat(width(&first));
        let mut inner_options = options.narrower(width(&first));
        inner_options.list_depth = depth + 1;
        let mut inner = stacked(&item.blocks, list.loose, inner_options);
        if let Some(done) = item.task {
            let check = if done { "[x] " } else { "[ ] " };
            match inner.first_mut() {
                Some(line) => line.insert_str(0, check),
                None => inner.push(check.trim_end().to_string()),
            }
        }
        if inner.is_empty() {
            inner.push(String::new());
        }
        let first = if options.color && list.start.is_none() {
            paint(
                &first,
                Style {
                    fg: Some(36),
                    ..Style::default()
                },
                true,
            )
        } else {
            first
        };
        out.extend(prefixed(inner, &first, &indent));
    }
    out
}

/// A table with `│` between columns and a rule under the head; when it is too wide,
/// the widest columns give up room and their cells wrap.
fn table(table: &Table, options: Options) -> Vec<String> {
    let columns = table
        .rows
        .iter()
        .map(Vec::len)
        .chain([table.head.len(), table.alignments.len()])
        .max()
        .unwrap_or(0);
    if columns == 0 {
        return Vec::new();
    }
    let cell_text = |cell: &[Span]| {
        wrap(cell, usize::MAX / 4, options.color)
            .iter()
            .map(|line| width(&strip_escapes(line)))
            .max()
            .unwrap_or(0)
    };
    let mut widths = vec![1usize; columns];
    for row in std::iter::once(&table.head).chain(&table.rows) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell_text(cell));
        }
    }
    let separators = 3 * (columns - 1);
    let available = options.width.saturating_sub(separators).max(columns * 3);
    while widths.iter().sum::<usize>() > available {
        let Some((widest, _)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
            break;
        };
        if widths[widest] <= 3 {
            break;
        }
        widths[widest] -= 1;
    }
    let bar = if options.color {
        paint(" │ ", dim(), true)
    } else {
        " │ ".to_string()
    };
    let mut out = Vec::new();
    let head: Vec<Span> = Vec::new();
    let header = if table.head.is_empty() {
        None
    } else {
        Some(&table.head)
    };
    for (index, row) in header.into_iter().chain(&table.rows).enumerate() {
        let is_head = index == 0 && !table.head.is_empty();
        let cells: Vec<Vec<String>> = (0..columns)
            .map(|i| {
                let spans = row.get(i).unwrap_or(&head);
                let spans: Vec<Span> = if is_head && options.color {
                    spans
                        .iter()
                        .map(|s| Span {
                            style: Style {
                                bold: true,
                                ..s.style
                            },
                            ..s.clone()
                        })
                        .collect()
                } else {
                    spans.clone()
                };
                wrap(&spans, widths[i], options.color)
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for line in 0..height {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    let text = cell.get(line).map_or("", String::as_str);
                    let alignment = table.alignments.get(i).copied().unwrap_or(Alignment::None);
                    pad(text, widths[i], alignment)
                })
                .collect();
            out.push(parts.join(&bar).trim_end().to_string());
        }
        if is_head {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            let rule = rule.join("─┼─");
            out.push(if options.color {
                paint(&rule, dim(), true)
            } else {
                rule
            });
        }
    }
    out
}

/// `text` padded to `columns` (measured without escape codes).
fn pad(text: &str, columns: usize, alignment: Alignment) -> String {
    let shown = width(&strip_escapes(text));
    let room = columns.saturating_sub(shown);
    let (left, right) = match alignment {
        Alignment::Right => (room, 0),
        Alignment::Center => (room / 2, room - room / 2),
        Alignment::Left | Alignment::None => (0, room),
    };
    format!("{}{text}{}", " ".repeat(left), " ".repeat(right))
}

/// `text` without its SGR sequences.
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
