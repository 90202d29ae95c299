//! InsRec's web page and JSON API, served by `insrec serve`.
//!
//! The HTTP layer knows nothing about signal processing: it hands each upload to an [`Analyzer`] (the pipeline,
//! plugged in by the binary) on a blocking thread, bounded by a semaphore, with a timeout and a [`CancelFlag`]
//! that is set when the client goes away. [`app`] builds the router, so tests drive it with `oneshot` and no
//! socket; [`serve`] runs it on a listener until a shutdown signal.

mod analyzer;
mod error;
mod limits;
mod routes;
mod state;
mod upload;

use std::future::Future;

pub use analyzer::{AnalyzeError, AnalyzeRequest, Analyzer, CancelFlag, ModelInfo};
pub use error::{ApiError, Error, Result};
pub use limits::Limits;
pub use routes::app;
pub use state::AppState;

/// Serves [`app`] on `listener` until `shutdown` completes, then lets running requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map_err(Error::Io)?;
    tracing::info!(%addr, "insrec server listening");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Io)
}
