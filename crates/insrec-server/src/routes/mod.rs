//! The router: the page's assets, the JSON API, and JSON answers for unknown paths and methods.

mod analyze;
mod assets;
mod info;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState};

/// The whole application; tests call `app(state).oneshot(request)`.
pub fn app(state: AppState) -> Router {
    let upload_limit = DefaultBodyLimit::max(state.limits.max_upload_bytes);
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/analyze", post(analyze::analyze).layer(upload_limit))
        .route("/api/models", get(info::models))
        .route("/api/classes", get(info::classes))
        .route("/api/health", get(info::health))
        .route("/api/openapi.json", get(assets::openapi))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound {
        path: uri.path().to_string(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
