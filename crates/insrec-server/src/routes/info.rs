//! `GET /api/models`, `GET /api/classes`, `GET /api/health`.

use axum::Json;
use axum::extract::State;
use insrec_core::Instrument;
use serde::Serialize;

use crate::{AppState, ModelInfo};

#[derive(Debug, Serialize)]
pub(crate) struct Models {
    /// The model used when a request names none.
    default: Option<String>,
    models: Vec<ModelInfo>,
}

pub(crate) async fn models(State(state): State<AppState>) -> Json<Models> {
    let models = state.analyzer.models();
    Json(Models {
        default: models.first().map(|m| m.name.clone()),
        models,
    })
}

#[derive(Debug, Serialize)]
pub(crate) struct Class {
    name: &'static str,
    wikipedia_url: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct Classes {
    /// The 20 OpenMIC classes in report order.
    classes: Vec<Class>,
}

pub(crate) async fn classes() -> Json<Classes> {
    let classes = Instrument::ALL
        .iter()
        .map(|i| Class {
            name: i.name(),
            wikipedia_url: i.wikipedia_url(),
        })
        .collect();
    Json(Classes { classes })
}

#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
    /// Analyses running now.
    running: usize,
    limits: HealthLimits,
}

#[derive(Debug, Serialize)]
pub(crate) struct HealthLimits {
    max_upload_bytes: usize,
    max_duration_s: f64,
    max_concurrent: usize,
    queue_timeout_s: f64,
    analysis_timeout_s: f64,
}

pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    let limits = &state.limits;
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        running: state.running(),
        limits: HealthLimits {
            max_upload_bytes: limits.max_upload_bytes,
            max_duration_s: limits.max_duration_s,
            max_concurrent: limits.max_concurrent.max(1),
            queue_timeout_s: limits.queue_timeout.as_secs_f64(),
            analysis_timeout_s: limits.analysis_timeout.as_secs_f64(),
        },
    })
}
