//! The markdown benchmark table of `insrec bench`.

use std::fmt::Write;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::report::EvalReport;

/// What the columns mean; print it under the table.
pub const BENCH_LEGEND: &str = "Accuracy, precision, recall and F1 are the seed's single-label metrics (argmax of masked \
Y_true vs argmax of scores; sklearn macro over the classes present). mAP and macro-F1 are the official masked \
multi-label metrics. All ×100. Wall time covers training and evaluation.";

/// One model's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub model: String,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub mean_average_precision: Option<f64>,
    pub macro_f1: Option<f64>,
    pub wall_seconds: f64,
    pub params: usize,
}

impl BenchRow {
    pub fn new(report: &EvalReport, wall: Duration, params: usize) -> Self {
        Self {
            model: report.model.clone(),
            accuracy: report.seed.accuracy,
            precision: report.seed.precision,
            recall: report.seed.recall,
            f1: report.seed.f1,
            mean_average_precision: report.official.mean_average_precision,
            macro_f1: report.official.macro_f1,
            wall_seconds: wall.as_secs_f64(),
            params,
        }
    }
}

/// Renders the rows as a GitHub markdown table, in the given order.
pub fn bench_table(rows: &[BenchRow]) -> String {
    let mut out = String::from(
        "| Model | Accuracy | Precision | Recall | F1 | mAP | Macro-F1 | Wall time | Params |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.model.replace('|', "\\|"),
            percent(Some(r.accuracy)),
            percent(Some(r.precision)),
            percent(Some(r.recall)),
            percent(Some(r.f1)),
            percent(r.mean_average_precision),
            percent(r.macro_f1),
            duration(r.wall_seconds),
            count(r.params),
        );
    }
    out
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{:.2}", v * 100.0))
}

/// `42.1 s`, `3 min 05 s`, `2 h 07 min`.
fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    match whole {
        _ if seconds < 60.0 => format!("{seconds:.1} s"),
        0..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole % 3600 / 60),
    }
}

/// `987`, `12.3 k`, `4.56 M`.
fn count(n: usize) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1} k", n as f64 / 1e3),
        _ => format!("{:.2} M", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, map: Option<f64>, wall: f64, params: usize) -> BenchRow {
        BenchRow {
            model: model.into(),
            accuracy: 0.5312,
            precision: 0.25,
            recall: 1.0 / 3.0,
            f1: 0.0,
            mean_average_precision: map,
            macro_f1: Some(0.6),
            wall_seconds: wall,
            params,
        }
    }

    #[test]
    fn renders_one_line_per_model_in_percent() {
        let table = bench_table(&[
            row("DLinear", Some(0.71234), 42.14, 2_580),
            row("Patch|TST", None, 3725.0, 1_234_567),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[2],
            "| DLinear | 53.12 | 25.00 | 33.33 | 0.00 | 71.23 | 60.00 | 42.1 s | 2.6 k |"
        );
        assert_eq!(
            lines[3],
            "| Patch\\|TST | 53.12 | 25.00 | 33.33 | 0.00 | n/a | 60.00 | 1 h 02 min | 1.23 M |"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.matches('|').count() - l.matches("\\|").count() == 10)
        );
    }

    #[test]
    fn durations_and_counts_pick_readable_units() {
        assert_eq!(duration(185.4), "3 min 05 s");
        assert_eq!(duration(59.94), "59.9 s");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1.00 M");
    }
}
