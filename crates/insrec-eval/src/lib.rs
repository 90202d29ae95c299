//! Evaluation metrics for InsRec classifiers.
//!
//! - [`official`]: the OpenMIC protocol, one binary problem per class over observed labels only:
//!   F1 at a threshold (0.5 or tuned on validation), average precision (sklearn
//!   `average_precision_score`), ROC-AUC (sklearn `roc_auc_score`), macro averages over the classes
//!   where each is defined.
//! - [`seed`]: the seed's single-label metrics (accuracy and sklearn macro P/R/F1 of argmax classes).
//! - [`EvalReport`] (JSON) and [`bench_table`] (markdown).

#![forbid(unsafe_code)]

mod bench;
pub mod binary;
mod error;
pub mod official;
mod predictions;
mod report;
pub mod seed;

pub use bench::{BENCH_LEGEND, BenchRow, bench_table};
pub use error::{Error, Result};
pub use official::{ClassMetrics, DEFAULT_THRESHOLD, OfficialMetrics, tune_thresholds};
pub use predictions::{POSITIVE_RELEVANCE, Predictions};
pub use report::{EvalReport, PartsGroup, ThresholdSource, by_parts};
pub use seed::SeedMetrics;
