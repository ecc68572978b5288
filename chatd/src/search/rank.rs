//! Ordering the newest matches of a search by how well they match, the same way on
//! both backends. The database hands over at most [`RANK_WINDOW`] of a query's newest
//! matches (so a common word costs a bounded walk of its index, not a score for each
//! of its hundreds of thousands of matches; each row of the window is read with its
//! text and scored, which is what the window's size bounds); they are scored here,
//! BM25-style: each term's occurrences, saturating, a short message counting more than
//! a long one.
//!
//! Every message of the window matches every term, so the inverse document frequency
//! of BM25 is the same for all of them and is left out.

use super::Term;
use super::snippet::fold;

/// How many of a query's newest matches are ranked; older ones follow, newest first.
pub const RANK_WINDOW: usize = 500;

/// BM25's term-frequency saturation and length normalisation, at their usual values.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Sorts `rows` (newest first) best first: by score, then newest first. `content` gives
/// a row's text and `id` its message id.
pub fn rank<T>(
    rows: &mut [T],
    terms: &[Term],
    content: impl Fn(&T) -> &str,
    id: impl Fn(&T) -> i64,
) {
    if rows.len() < 2 || terms.is_empty() {
        return;
    }
    let needles: Vec<String> = terms.iter().map(|term| folded(&term.text)).collect();
    let measured: Vec<(usize, Vec<usize>)> = rows
        .iter()
        .map(|row| {
            let text = folded(content(row));
            let counts = needles
                .iter()
                .map(|needle| occurrences(&text, needle))
                .collect();
            (text.len(), counts)
        })
        .collect();
    let average = measured.iter().map(|(len, _)| *len as f64).sum::<f64>() / rows.len() as f64;
    let mut scored: Vec<(f64, i64, usize)> = measured
        .iter()
        .enumerate()
        .map(|(index, (len, counts))| {
            let norm = K1 * (1.0 - B + B * (*len as f64) / average.max(1.0));
            let score = counts
                .iter()
                // A match the database made by a word's stem ("running" for "run"
                // in English) may not hold the term as typed: it still matched once.
                .map(|count| (*count).max(1) as f64)
                .map(|tf| tf * (K1 + 1.0) / (tf + norm))
                .sum::<f64>();
            (score, id(&rows[index]), index)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let order: Vec<usize> = scored.into_iter().map(|(_, _, index)| index).collect();
    apply_order(rows, order);
}

/// `text` case-folded as the snippet folds it, with every run of whitespace one space
/// (a phrase's words are one space apart).
fn folded(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !folded.is_empty() {
            folded.push(' ');
        }
        space = false;
        folded.push(fold(c));
    }
    folded
}

/// How often `needle` occurs in `text`, not overlapping (a byte search: no characters
/// decoded).
fn occurrences(text: &str, needle: &str) -> usize {
    if needle.is_empty() {
        0
    } else {
        text.matches(needle).count()
    }
}

/// Puts `rows[order[i]]` at `i`, by swaps along each cycle of the permutation.
fn apply_order<T>(rows: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut current = start;
        while order[current] != start {
            let next = order[current];
            rows.swap(current, next);
            order[current] = current;
            current = next;
        }
        order[current] = current;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(text: &str) -> Term {
        Term {
            text: text.into(),
            phrase: false,
        }
    }

    fn ranked(rows: &[(i64, &str)], terms: &[Term]) -> Vec<i64> {
        let mut rows = rows.to_vec();
        rank(&mut rows, terms, |row| row.1, |row| row.0);
        rows.iter().map(|row| row.0).collect()
    }

    #[test]
    fn more_occurrences_and_shorter_messages_come_first() {
        let long = format!("rust {}", "filler words here ".repeat(20));
        let rows = [
            (4, long.as_str()),
            (3, "rust rust rust, all about Rust"),
            (2, "rust is short"),
            (
                1,
                "once: rust, then much more text about other things entirely",
            ),
        ];
        assert_eq!(ranked(&rows, &[term("rust")]), [3, 2, 1, 4]);
    }

    #[test]
    fn equal_scores_keep_the_newest_first() {
        let rows = [(9, "a cat"), (7, "a cat"), (8, "a cat")];
        assert_eq!(ranked(&rows, &[term("cat")]), [9, 8, 7]);
    }

    #[test]
    fn every_term_counts_and_stemmed_matches_count_once() {
        let rows = [
            (3, "runs fast"),
            (2, "run run fast fast"),
            (1, "running late, very late, far too late for anything"),
        ];
        assert_eq!(ranked(&rows, &[term("run"), term("fast")]), [2, 3, 1]);
    }

    #[test]
    fn permutations_apply_whole() {
        let mut rows = vec!['a', 'b', 'c', 'd', 'e'];
        apply_order(&mut rows, vec![3, 0, 4, 1, 2]);
        assert_eq!(rows, ['d', 'a', 'e', 'b', 'c']);
    }
}
