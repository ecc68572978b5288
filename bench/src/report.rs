//! The table the harness prints: one row per figure with its goal, what was measured,
//! the ratio the goal is about, and whether the goal is met. Markdown, so a run can be
//! pasted into BENCHMARKS.md as it is.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// A figure printed for context, with no goal of its own.
    Info,
}

#[derive(Debug)]
pub struct Row {
    pub scenario: String,
    pub metric: String,
    pub goal: String,
    pub measured: String,
    pub ratio: String,
    pub verdict: Verdict,
}

#[derive(Debug, Default)]
pub struct Table(pub Vec<Row>);

impl Table {
    pub fn add(
        &mut self,
        scenario: &str,
        metric: &str,
        goal: &str,
        measured: String,
        ratio: String,
        verdict: Verdict,
    ) {
        self.0.push(Row {
            scenario: scenario.into(),
            metric: metric.into(),
            goal: goal.into(),
            measured,
            ratio,
            verdict,
        });
    }

    /// A row for context only.
    pub fn info(&mut self, scenario: &str, metric: &str, measured: String) {
        self.add(scenario, metric, "", measured, String::new(), Verdict::Info);
    }

    /// A row whose goal is `ok`.
    pub fn check(
        &mut self,
        scenario: &str,
        metric: &str,
        goal: &str,
        measured: String,
        ratio: String,
        ok: bool,
    ) {
        let verdict = if ok { Verdict::Met } else { Verdict::Missed };
        self.add(scenario, metric, goal, measured, ratio, verdict);
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "| scenario | metric | goal | measured | ratio | verdict |\n\
             | --- | --- | --- | --- | --- | --- |\n",
        );
        for row in &self.0 {
            let verdict = match row.verdict {
                Verdict::Met => "met",
                Verdict::Missed => "**missed**",
                Verdict::Info => "",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                row.scenario, row.metric, row.goal, row.measured, row.ratio, verdict
            ));
        }
        out
    }
}

pub fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

pub fn rate(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.0}/s", v)
    } else {
        format!("{v:.1}/s")
    }
}

pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The median of `values` with their range, as `median (min–max)` in `unit`; just the
/// value when there is one, or when all agree.
pub fn spread(values: &[f64], unit: impl Fn(f64) -> String) -> String {
    let Some((median, low, high)) = median_range(values) else {
        return "no figure".into();
    };
    if values.len() == 1 || low == high {
        return unit(median);
    }
    format!("{} ({}–{})", unit(median), unit(low), unit(high))
}

/// Median, minimum and maximum, NaNs left out; `None` without a figure.
pub fn median_range(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let (low, high) = (*sorted.first()?, *sorted.last()?);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some((median, low, high))
}

/// The tables of `--repeat N` runs as one: each figure becomes the median of the runs
/// with its range in brackets, and the verdict says in how many runs the goal was met.
/// Rows are matched by scenario and metric; a row whose text differs between runs other
/// than in its numbers is shown run by run.
pub fn combine(tables: &[Table]) -> Table {
    let Some(first) = tables.first() else {
        return Table::default();
    };
    let mut out = Table::default();
    for row in &first.0 {
        let same: Vec<&Row> = tables
            .iter()
            .filter_map(|t| {
                t.0.iter()
                    .find(|r| r.scenario == row.scenario && r.metric == row.metric)
            })
            .collect();
        let met = same.iter().filter(|r| r.verdict == Verdict::Met).count();
        let verdict = if row.verdict == Verdict::Info {
            Verdict::Info
        } else if met == same.len() {
            Verdict::Met
        } else {
            Verdict::Missed
        };
        let measured: Vec<&str> = same.iter().map(|r| r.measured.as_str()).collect();
        let ratio: Vec<&str> = same.iter().map(|r| r.ratio.as_str()).collect();
        let mut ratio = combine_text(&ratio);
        if row.verdict != Verdict::Info && same.len() > 1 {
            ratio = format!("{ratio} (met in {met} of {})", same.len())
                .trim_start()
                .to_string();
        }
        out.add(
            &row.scenario,
            &row.metric,
            &row.goal,
            combine_text(&measured),
            ratio,
            verdict,
        );
    }
    out
}

/// One text with every number replaced by the median of the runs' numbers at that place
/// and their range: `3431/s` and `3500/s` and `3300/s` give `3431 [3300–3500]/s`.
fn combine_text(texts: &[&str]) -> String {
    let split: Vec<(Vec<String>, Vec<String>)> = texts.iter().map(|t| numbers(t)).collect();
    let Some((template, _)) = split.first() else {
        return String::new();
    };
    if split.iter().any(|(t, _)| t != template) {
        return texts.join(" | ");
    }
    let mut out = String::new();
    for (i, part) in template.iter().enumerate() {
        out.push_str(part);
        let at: Vec<&String> = split.iter().filter_map(|(_, n)| n.get(i)).collect();
        if at.is_empty() {
            continue;
        }
        let decimals = at
            .iter()
            .map(|n| n.split_once('.').map_or(0, |(_, d)| d.len()))
            .max()
            .unwrap_or(0);
        let values: Vec<f64> = at.iter().filter_map(|n| n.parse().ok()).collect();
        match median_range(&values) {
            Some((median, low, high)) if low != high => out.push_str(&format!(
                "{median:.decimals$} [{low:.decimals$}–{high:.decimals$}]"
            )),
            Some((median, _, _)) => out.push_str(&format!("{median:.decimals$}")),
            None => out.push_str(at[0]),
        }
    }
    out
}

/// The text between the numbers (one more part than numbers) and the numbers.
fn numbers(text: &str) -> (Vec<String>, Vec<String>) {
    let mut parts = vec![String::new()];
    let mut found = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut number = c.to_string();
            while let Some(&next) = chars.peek() {
                if next.is_ascii_digit() || (next == '.' && !number.contains('.')) {
                    number.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            // A trailing dot ends a sentence, not a number.
            let trailing_dot = number.ends_with('.');
            found.push(number.trim_end_matches('.').to_string());
            parts.push(if trailing_dot {
                ".".into()
            } else {
                String::new()
            });
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    (parts, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_combine_into_medians_and_ranges() {
        let texts = [
            "3431/s (ref 10.5/s)",
            "3500/s (ref 10.1/s)",
            "3300/s (ref 10.5/s)",
        ];
        assert_eq!(
            combine_text(&texts),
            "3431 [3300–3500]/s (ref 10.5 [10.1–10.5]/s)"
        );
        assert_eq!(combine_text(&["a 1", "b 1"]), "a 1 | b 1");
        assert_eq!(
            spread(&[3.0, 1.0, 2.0], |v| format!("{v:.1}")),
            "2.0 (1.0–3.0)"
        );
    }
}
