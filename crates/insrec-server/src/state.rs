//! Shared state of every request.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{Analyzer, Limits};

/// The analyzer, the limits and the slots for concurrent analyses; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) analyzer: Arc<dyn Analyzer>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) slots: Arc<Semaphore>,
}

impl AppState {
    /// State for `analyzer` under `limits` (at least one concurrent analysis).
    pub fn new(analyzer: Arc<dyn Analyzer>, limits: Limits) -> Self {
        let slots = Arc::new(Semaphore::new(limits.max_concurrent.max(1)));
        Self {
            analyzer,
            limits: Arc::new(limits),
            slots,
        }
    }

    /// Analyses running right now.
    pub(crate) fn running(&self) -> usize {
        self.limits
            .max_concurrent
            .max(1)
            .saturating_sub(self.slots.available_permits())
    }
}
