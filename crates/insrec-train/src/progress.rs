//! Progress bars on stderr (hidden when disabled or when stderr is not a terminal).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `len` items of `what` (e.g. clips being embedded).
pub fn counter(enabled: bool, len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), target(enabled));
    bar.set_style(style(&format!(
        "{{spinner}} {what} {{bar:30}} {{pos}}/{{len}} [{{elapsed_precise}}<{{eta_precise}}]"
    )));
    bar
}

/// An epochs bar with a steps bar under it, showing the running loss and the last validation.
#[derive(Debug)]
pub struct TrainProgress {
    epochs: ProgressBar,
    steps: ProgressBar,
}

impl TrainProgress {
    /// Bars for epochs `first..total` of a run.
    pub fn new(enabled: bool, first: usize, total: usize) -> Self {
        let multi = MultiProgress::with_draw_target(target(enabled));
        let epochs = multi.add(ProgressBar::new(total as u64));
        epochs.set_style(style(
            "epoch {pos}/{len} {bar:30} [{elapsed_precise}<{eta_precise}] {msg}",
        ));
        epochs.set_position(first as u64);
        let steps = multi.add(ProgressBar::new(0));
        steps.set_style(style("  step {pos}/{len} {bar:30} {per_sec} {msg}"));
        Self { epochs, steps }
    }

    /// A new epoch of `steps` batches.
    pub fn start_epoch(&self, steps: usize) {
        self.steps.set_length(steps as u64);
        self.steps.set_position(0);
    }

    /// One step done; `loss` is the running mean of the epoch.
    pub fn step(&self, loss: f64) {
        self.steps.set_message(format!("loss {loss:.4}"));
        self.steps.inc(1);
    }

    /// The epoch is over; `summary` shows beside the epochs bar.
    pub fn end_epoch(&self, summary: String) {
        self.epochs.set_message(summary);
        self.epochs.inc(1);
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.steps.finish_and_clear();
        self.epochs.finish_and_clear();
    }
}

fn target(enabled: bool) -> ProgressDrawTarget {
    if enabled {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
