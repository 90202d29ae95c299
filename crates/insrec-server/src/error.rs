//! Errors: [`Error`] for running the server, [`ApiError`] for what a request gets back.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AnalyzeError;

/// Failure to run the server itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener failed.
    #[error("server: {0}")]
    Io(#[source] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A failed request; answers with its status code and `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter that does not parse or is out of range.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A body with no bytes.
    #[error("empty upload: send the audio file as the request body or as multipart field \"file\"")]
    EmptyUpload,
    /// A multipart body without a `file` field.
    #[error("multipart upload has no \"file\" field")]
    MissingFileField,
    /// A multipart body that does not parse.
    #[error("malformed upload: {0}")]
    MalformedUpload(String),
    /// A `Content-Type` that is neither multipart nor audio.
    #[error(
        "unsupported content type {content_type:?}: send multipart/form-data with field \"file\", \
         or the raw file as application/octet-stream or audio/*"
    )]
    UnsupportedMediaType { content_type: String },
    /// A body over [`crate::Limits::max_upload_bytes`].
    #[error("upload too large: the limit is {} MB", limit_bytes / 1_000_000)]
    TooLarge { limit_bytes: usize },
    /// A path that serves nothing.
    #[error("no such resource: {path}")]
    NotFound { path: String },
    /// A method the path does not serve.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Every analysis slot stayed busy for the whole queue timeout.
    #[error("server busy: all analysis slots are in use; retry in {retry_after_s} s")]
    Busy { retry_after_s: u64 },
    /// The analysis ran past [`crate::Limits::analysis_timeout`] and was cancelled.
    #[error("analysis timed out after {limit_s} s")]
    Timeout { limit_s: f64 },
    /// The analyzer refused or failed.
    #[error(transparent)]
    Analysis(#[from] AnalyzeError),
    /// A failure of the server (a panicked analysis, say); the client sees only "internal server error".
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidQuery(_)
            | Self::EmptyUpload
            | Self::MissingFileField
            | Self::MalformedUpload(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Analysis(err) => match err {
                AnalyzeError::Unsupported { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                AnalyzeError::Corrupt { .. }
                | AnalyzeError::LimitExceeded { .. }
                | AnalyzeError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AnalyzeError::UnknownModel { .. } => StatusCode::NOT_FOUND,
                AnalyzeError::ModelUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AnalyzeError::Cancelled => StatusCode::GATEWAY_TIMEOUT,
                AnalyzeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "internal server error".to_string()
        } else {
            tracing::debug!(error = %self, %status, "request refused");
            self.to_string()
        };
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        if let Self::Busy { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}
