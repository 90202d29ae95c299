//! The single-page app and the OpenAPI document, embedded in the binary.

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

pub(crate) const INDEX_HTML: &str = include_str!("../../assets/index.html");
pub(crate) const OPENAPI_JSON: &str = include_str!("../../assets/openapi.json");

/// Files under `/assets/`: name, content type, body.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "spectrogram-worker.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/spectrogram-worker.js"),
    ),
];

/// Everything comes from this origin; audio and downloads use `blob:` URLs.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
                   worker-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'";

pub(crate) async fn index() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or_else(|| ApiError::NotFound {
            path: format!("/assets/{name}"),
        })?;
    Ok((
        [
            (CONTENT_TYPE, *content_type),
            (CACHE_CONTROL, "no-cache"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *body,
    )
        .into_response())
}

pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_references_every_embedded_asset() {
        for (name, _, body) in ASSETS {
            assert!(!body.trim().is_empty(), "{name} is empty");
            let referenced = INDEX_HTML.contains(&format!("/assets/{name}"))
                || ASSETS
                    .iter()
                    .any(|(_, _, other)| other.contains(&format!("/assets/{name}")));
            assert!(referenced, "{name} is embedded but nothing loads it");
        }
    }

    #[test]
    fn openapi_document_is_json_3_1() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json parses");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    }
}
