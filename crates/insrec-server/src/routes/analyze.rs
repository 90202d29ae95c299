//! `POST /api/analyze`: one upload in, one [`AnalysisReport`] out.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use insrec_core::{AnalysisReport, NUM_CLASSES};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;

use crate::upload::read_upload;
use crate::{AnalyzeError, AnalyzeRequest, Analyzer, ApiError, AppState, CancelFlag};

/// Query parameters of `POST /api/analyze`.
#[derive(Debug, Deserialize)]
pub(crate) struct AnalyzeParams {
    /// A name from `GET /api/models`; the default model when absent.
    model: Option<String>,
    /// Keep at most this many classes (1–20) in `present`.
    top_k: Option<usize>,
    /// File name of a raw-body upload (multipart uploads carry their own).
    filename: Option<String>,
}

pub(crate) async fn analyze(
    State(state): State<AppState>,
    query: Result<Query<AnalyzeParams>, QueryRejection>,
    request: Request,
) -> Result<Json<AnalysisReport>, ApiError> {
    let Query(params) = query.map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))?;
    let top_k = params.top_k.map(check_top_k).transpose()?;
    let model = resolve_model(state.analyzer.as_ref(), params.model)?;
    let upload = read_upload(request, state.limits.max_upload_bytes).await?;
    let slot = wait_for_slot(&state).await?;
    let filename = upload.filename.or(params.filename);

    let cancel = CancelFlag::new();
    // Dropped with this future when the client disconnects, which tells the analysis to stop.
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let task = {
        let analyzer = Arc::clone(&state.analyzer);
        let (model, filename, cancel) = (model.clone(), filename.clone(), cancel.clone());
        let max_duration_s = state.limits.max_duration_s;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            analyzer.analyze(&AnalyzeRequest {
                audio: &upload.bytes,
                filename_hint: filename.as_deref(),
                model: &model,
                max_duration_s,
                cancel: &cancel,
            })
        })
    };
    let limit = state.limits.analysis_timeout;
    let mut file = match tokio::time::timeout(limit, task).await {
        Err(_elapsed) => {
            cancel.cancel();
            return Err(ApiError::Timeout {
                limit_s: limit.as_secs_f64(),
            });
        }
        Ok(Err(join_error)) => {
            return Err(ApiError::Internal(format!("analysis task: {join_error}")));
        }
        Ok(Ok(result)) => result?,
    };
    file.path = filename.unwrap_or_else(|| "upload".to_string());
    if let Some(k) = top_k {
        file.present.truncate(k);
    }
    let mut report = AnalysisReport::new(model);
    report.files.push(file);
    Ok(Json(report))
}

fn check_top_k(k: usize) -> Result<usize, ApiError> {
    if (1..=NUM_CLASSES).contains(&k) {
        Ok(k)
    } else {
        Err(ApiError::InvalidQuery(format!(
            "top_k must be between 1 and {NUM_CLASSES}, got {k}"
        )))
    }
}

/// The requested model, or the analyzer's default (its first); refused early when it is unknown or failed to load.
fn resolve_model(analyzer: &dyn Analyzer, requested: Option<String>) -> Result<String, ApiError> {
    let models = analyzer.models();
    let chosen = match &requested {
        None => models.first(),
        Some(name) => models.iter().find(|m| &m.name == name),
    };
    match (chosen, requested) {
        (Some(model), _) if model.available => Ok(model.name.clone()),
        (Some(model), _) => Err(AnalyzeError::ModelUnavailable {
            name: model.name.clone(),
            reason: model.description.clone(),
        }
        .into()),
        (None, None) => Err(ApiError::Internal(
            "the analyzer offers no models".to_string(),
        )),
        (None, Some(name)) => Err(AnalyzeError::UnknownModel {
            name,
            known: models.into_iter().map(|m| m.name).collect(),
        }
        .into()),
    }
}

/// Waits for a free analysis slot for at most the queue timeout.
async fn wait_for_slot(state: &AppState) -> Result<OwnedSemaphorePermit, ApiError> {
    let wait = state.limits.queue_timeout;
    match tokio::time::timeout(wait, Arc::clone(&state.slots).acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(closed)) => Err(ApiError::Internal(format!("analysis slots: {closed}"))),
        Err(_elapsed) => Err(ApiError::Busy {
            retry_after_s: wait.as_secs().max(1),
        }),
    }
}

/// Sets the flag when dropped: on completion (harmless) or when the request future is dropped.
struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
