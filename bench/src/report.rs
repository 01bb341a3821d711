//! The one table and its JSON twin: every figure next to the baseline measured in the same run.

use serde_json::{json, Value};

/// One line of the table. `baseline` is what the same quantity costs on the bare WebSocket floor
/// (or a stated target), measured by this run unless `baseline_label` says otherwise.
pub struct Row {
    pub section: &'static str,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline_label: String,
    pub baseline: Option<f64>,
    /// Extra context (sample count, errors, caveats).
    pub note: String,
}

impl Row {
    pub fn new(section: &'static str, name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Row {
            section,
            name: name.into(),
            value,
            unit,
            baseline_label: String::new(),
            baseline: None,
            note: String::new(),
        }
    }

    pub fn against(mut self, label: impl Into<String>, baseline: f64) -> Self {
        self.baseline_label = label.into();
        self.baseline = Some(baseline);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// value / baseline; none when there is no baseline or it is zero.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b != 0.0).map(|b| self.value / b)
    }
}

fn num(v: f64) -> String {
    if v == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| # | figure | value | baseline (same run) | ratio | note |\n|---|---|---:|---|---:|---|\n");
    for r in rows {
        let baseline = match r.baseline {
            Some(b) => format!("{} {} {}", r.baseline_label, num(b), r.unit),
            None => "—".to_owned(),
        };
        let ratio = r.ratio().map(|x| format!("{x:.2}×")).unwrap_or_else(|| "—".to_owned());
        out.push_str(&format!(
            "| {} | {} | {} {} | {} | {} | {} |\n",
            r.section,
            r.name,
            num(r.value),
            r.unit,
            baseline,
            ratio,
            r.note
        ));
    }
    out
}

pub fn json(rows: &[Row], meta: Value) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "section": r.section,
                "name": r.name,
                "value": r.value,
                "unit": r.unit,
                "baseline_label": r.baseline_label,
                "baseline": r.baseline,
                "ratio": r.ratio(),
                "note": r.note,
            })
        })
        .collect();
    json!({ "meta": meta, "rows": rows })
}
