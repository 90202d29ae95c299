//! Reading an uploaded audio file from a request: multipart field `file`, or the raw body.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use crate::ApiError;

/// An uploaded file, in memory only.
#[derive(Debug)]
pub(crate) struct Upload {
    pub bytes: Bytes,
    /// The multipart field's file name.
    pub filename: Option<String>,
}

/// Reads the upload, refusing bodies over `max_bytes` (the route's `DefaultBodyLimit` enforces it while
/// streaming; a declared `Content-Length` over it is refused before reading).
pub(crate) async fn read_upload(request: Request, max_bytes: usize) -> Result<Upload, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(ApiError::TooLarge {
            limit_bytes: max_bytes,
        });
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
    let upload = match content_type.as_deref() {
        Some(ct) if ct.starts_with("multipart/form-data") => {
            read_multipart(request, max_bytes).await?
        }
        None => read_raw(request, max_bytes).await?,
        Some(ct) if is_raw_audio_type(ct) => read_raw(request, max_bytes).await?,
        Some(ct) => {
            return Err(ApiError::UnsupportedMediaType {
                content_type: ct.to_string(),
            });
        }
    };
    if upload.bytes.is_empty() {
        return Err(ApiError::EmptyUpload);
    }
    Ok(upload)
}

/// Content types accepted for a raw body: anything a browser or `curl --data-binary` labels an audio file with.
fn is_raw_audio_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence == "application/octet-stream"
        || essence == "application/ogg"
        || essence.starts_with("audio/")
        || essence.starts_with("video/")
}

async fn read_raw(request: Request, max_bytes: usize) -> Result<Upload, ApiError> {
    let bytes = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge {
                    limit_bytes: max_bytes,
                }
            } else {
                ApiError::MalformedUpload(rejection.body_text())
            }
        })?;
    Ok(Upload {
        bytes,
        filename: None,
    })
}

async fn read_multipart(request: Request, max_bytes: usize) -> Result<Upload, ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| ApiError::MalformedUpload(rejection.body_text()))?;
    let multipart_error = |err: axum::extract::multipart::MultipartError| {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit_bytes: max_bytes,
            }
        } else {
            ApiError::MalformedUpload(err.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("file") {
            let filename = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.map_err(multipart_error)?;
            return Ok(Upload { bytes, filename });
        }
    }
    Err(ApiError::MissingFileField)
}
