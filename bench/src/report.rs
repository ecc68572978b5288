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
