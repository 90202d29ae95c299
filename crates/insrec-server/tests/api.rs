//! The JSON API through `app(state).oneshot(request)`: every endpoint, every error class, and the
//! OpenAPI document checked against the real responses.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use insrec_core::{AnalysisReport, FRAME_SECONDS, FileReport, Instrument, NUM_CLASSES};
use insrec_server::{AnalyzeError, AnalyzeRequest, Analyzer, AppState, Limits, ModelInfo, app};
use serde_json::Value;
use support::clips::tone_wav;
use support::fake_analyzer::{FAKE_MODELS, FakeAnalyzer};
use tokio::sync::mpsc;
use tower::ServiceExt;

const OPENAPI: &str = include_str!("../assets/openapi.json");

fn test_limits() -> Limits {
    Limits {
        max_upload_bytes: 1_000_000,
        max_duration_s: 60.0,
        max_concurrent: 2,
        queue_timeout: Duration::from_secs(5),
        analysis_timeout: Duration::from_secs(30),
    }
}

fn fake_app() -> Router {
    app(AppState::new(Arc::new(FakeAnalyzer), test_limits()))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error` message, after checking the error body's shape against the OpenAPI `Error` schema.
    fn error(&self) -> String {
        let body = self.json();
        assert_valid(&body, "Error");
        body["error"].as_str().unwrap_or_default().to_string()
    }
}

async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn post_raw(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("request")
}

fn post_multipart(uri: &str, field: &str, filename: &str, data: &[u8]) -> Request<Body> {
    const BOUNDARY: &str = "insrec-test-boundary";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    post_raw(
        uri,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        body,
    )
}

fn report_of(reply: &Reply) -> AnalysisReport {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_valid(&reply.json(), "AnalysisReport");
    serde_json::from_slice(&reply.body).expect("an AnalysisReport")
}

/// The class the fake analyzer hears in a tone: semitones above A0 (27.5 Hz), modulo 20.
fn fake_class_of(hz: f64) -> Instrument {
    let semitones = (12.0 * (hz / 27.5).log2()).round() as usize;
    Instrument::ALL[semitones % NUM_CLASSES]
}

fn top_class(file: &FileReport) -> Instrument {
    file.scores.ranked()[0].0
}

// ---- endpoints -----------------------------------------------------------------------------------------

#[tokio::test]
async fn analyze_raw_body_names_the_dominant_tone_and_scores_every_frame() {
    let (hz, seconds) = (440.0, 5.0);
    let wav = tone_wav(&[(hz, seconds), (660.0, 2.0)]);
    let reply = send(
        fake_app(),
        post_raw("/api/analyze?filename=a440.wav", "audio/wav", wav),
    )
    .await;
    let report = report_of(&reply);
    assert_eq!(report.model, FAKE_MODELS[0], "no model asked: the default");
    assert_eq!(report.classes, Instrument::names());
    let [file] = report.files.as_slice() else {
        panic!("one file expected, got {}", report.files.len())
    };
    assert_eq!(file.path, "a440.wav");
    assert_eq!(file.error, None);
    assert!(
        (file.duration_s - 7.0).abs() < 1e-6,
        "duration {}",
        file.duration_s
    );
    assert_eq!(file.frames.len(), (7.0 / FRAME_SECONDS).ceil() as usize);
    for (i, frame) in file.frames.iter().enumerate() {
        assert!((frame.start_s - i as f64 * FRAME_SECONDS).abs() < 1e-9);
    }
    assert_eq!(top_class(file), fake_class_of(hz));
    assert_eq!(file.present.first(), Some(&fake_class_of(hz)));
    let last = file.frames.last().expect("frames");
    let last_top = (0..NUM_CLASSES)
        .max_by(|&a, &b| last.scores[a].total_cmp(&last.scores[b]))
        .expect("20 scores");
    assert_eq!(
        Instrument::ALL[last_top],
        fake_class_of(660.0),
        "the timeline follows the second tone"
    );
}

#[tokio::test]
async fn analyze_multipart_takes_the_file_field_and_its_name() {
    let wav = tone_wav(&[(220.0, 3.0)]);
    let reply = send(
        fake_app(),
        post_multipart("/api/analyze", "file", "low.wav", &wav),
    )
    .await;
    let report = report_of(&reply);
    assert_eq!(report.files[0].path, "low.wav");
    assert_eq!(top_class(&report.files[0]), fake_class_of(220.0));
}

#[tokio::test]
async fn analyze_runs_the_requested_model() {
    let wav = tone_wav(&[(440.0, 3.0)]);
    let reply = send(
        fake_app(),
        post_raw(
            "/api/analyze?model=fake-shifted",
            "application/octet-stream",
            wav,
        ),
    )
    .await;
    let report = report_of(&reply);
    assert_eq!(report.model, "fake-shifted");
    let expected = (fake_class_of(440.0).index() + 1) % NUM_CLASSES;
    assert_eq!(top_class(&report.files[0]).index(), expected);
}

#[tokio::test]
async fn top_k_caps_the_present_list() {
    let wav = tone_wav(&[(440.0, 3.0)]);
    let full = report_of(
        &send(
            fake_app(),
            post_raw("/api/analyze", "audio/wav", wav.clone()),
        )
        .await,
    );
    assert!(
        full.files[0].present.len() > 1,
        "the fake marks neighbours present too: {:?}",
        full.files[0].present
    );
    let capped = report_of(
        &send(
            fake_app(),
            post_raw("/api/analyze?top_k=1", "audio/wav", wav),
        )
        .await,
    );
    assert_eq!(capped.files[0].present, full.files[0].present[..1]);
    assert_eq!(
        capped.files[0].scores, full.files[0].scores,
        "scores of all 20 classes stay"
    );
}

#[tokio::test]
async fn models_lists_the_default_first() {
    let reply = send(fake_app(), get("/api/models")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_valid(&body, "Models");
    assert_eq!(body["default"], FAKE_MODELS[0]);
    let names: Vec<&str> = body["models"]
        .as_array()
        .expect("models array")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, FAKE_MODELS);
}

#[tokio::test]
async fn classes_lists_the_20_in_report_order_with_wikipedia_links() {
    let reply = send(fake_app(), get("/api/classes")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_valid(&body, "Classes");
    let classes = body["classes"].as_array().expect("classes array");
    for (class, instrument) in classes.iter().zip(Instrument::ALL) {
        assert_eq!(class["name"], instrument.name());
        assert_eq!(class["wikipedia_url"], instrument.wikipedia_url());
    }
}

#[tokio::test]
async fn health_reports_load_and_limits() {
    let reply = send(fake_app(), get("/api/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_valid(&body, "Health");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["running"], 0);
    assert_eq!(
        body["limits"]["max_upload_bytes"],
        test_limits().max_upload_bytes
    );
    assert_eq!(
        body["limits"]["max_concurrent"],
        test_limits().max_concurrent
    );
}

#[tokio::test]
async fn openapi_document_is_served_and_describes_every_route() {
    let reply = send(fake_app(), get("/api/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc, openapi());
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    for (path, method) in [
        ("/api/analyze", "post"),
        ("/api/models", "get"),
        ("/api/classes", "get"),
        ("/api/health", "get"),
        ("/api/openapi.json", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
        let served = send(
            fake_app(),
            Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_ne!(
            served.status,
            StatusCode::NOT_FOUND,
            "{path} is documented but not routed"
        );
    }
    // Every documented error status of /api/analyze answers with the Error schema.
    let responses = doc["paths"]["/api/analyze"]["post"]["responses"]
        .as_object()
        .expect("responses");
    for status in ["400", "404", "413", "415", "422", "503", "504"] {
        assert!(responses.contains_key(status), "{status} undocumented");
    }
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let reply = send(fake_app(), get("/")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, include_str!("../assets/index.html").as_bytes());
    assert!(
        reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .contains("default-src 'self'")
    );
    for (name, file, content_type) in [
        (
            "app.js",
            include_str!("../assets/app.js"),
            "text/javascript",
        ),
        ("app.css", include_str!("../assets/app.css"), "text/css"),
        (
            "spectrogram-worker.js",
            include_str!("../assets/spectrogram-worker.js"),
            "text/javascript",
        ),
    ] {
        let reply = send(fake_app(), get(&format!("/assets/{name}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.body, file.as_bytes(), "{name}");
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with(content_type)
        );
    }
    let missing = send(fake_app(), get("/assets/missing.js")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.error().contains("/assets/missing.js"));
}

// ---- error classes ------------------------------------------------------------------------------------

#[tokio::test]
async fn too_large_uploads_get_413_whether_declared_streamed_or_multipart() {
    let limit = test_limits().max_upload_bytes;
    let big = vec![0u8; limit + 1];

    let declared = send(
        fake_app(),
        post_raw("/api/analyze", "audio/wav", big.clone()),
    )
    .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(declared.error().contains("1 MB"), "{}", declared.error());

    let chunks = big
        .chunks(64 * 1024)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
        .collect::<Vec<_>>();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = send(fake_app(), post_raw("/api/analyze", "audio/wav", streamed)).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "no Content-Length: {}",
        reply.error()
    );

    let multipart = send(
        fake_app(),
        post_multipart("/api/analyze", "file", "big.wav", &big),
    )
    .await;
    assert_eq!(
        multipart.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        multipart.error()
    );
}

#[tokio::test]
async fn corrupt_audio_gets_422_with_the_reason_and_the_server_keeps_serving() {
    let mut wav = tone_wav(&[(440.0, 1.0)]);
    wav.truncate(30);
    let app = fake_app();
    let reply = send(app.clone(), post_raw("/api/analyze", "audio/wav", wav)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.error().starts_with("corrupt audio: "),
        "{}",
        reply.error()
    );
    let next = send(
        app,
        post_raw("/api/analyze", "audio/wav", tone_wav(&[(440.0, 1.0)])),
    )
    .await;
    assert_eq!(next.status, StatusCode::OK);
}

#[tokio::test]
async fn unsupported_audio_and_content_types_get_415() {
    let reply = send(
        fake_app(),
        post_raw(
            "/api/analyze",
            "audio/mpeg",
            b"ID3 not really an mp3".to_vec(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        reply.error().starts_with("unsupported audio: "),
        "{}",
        reply.error()
    );

    let reply = send(
        fake_app(),
        post_raw("/api/analyze", "application/json", b"{}".to_vec()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        reply.error().contains("application/json"),
        "{}",
        reply.error()
    );
}

#[tokio::test]
async fn too_long_audio_gets_422() {
    let limits = Limits {
        max_duration_s: 2.0,
        ..test_limits()
    };
    let app = app(AppState::new(Arc::new(FakeAnalyzer), limits));
    let reply = send(
        app,
        post_raw("/api/analyze", "audio/wav", tone_wav(&[(440.0, 3.0)])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.error().contains("limit is 2 s"), "{}", reply.error());
}

#[tokio::test]
async fn unknown_model_gets_404_naming_the_known_ones() {
    let reply = send(
        fake_app(),
        post_raw(
            "/api/analyze?model=nope",
            "audio/wav",
            tone_wav(&[(440.0, 1.0)]),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let message = reply.error();
    assert!(
        message.contains("\"nope\"") && message.contains(FAKE_MODELS[1]),
        "{message}"
    );
}

/// The fake's models plus one whose checkpoint failed to load.
struct WithBrokenModel;

impl Analyzer for WithBrokenModel {
    fn models(&self) -> Vec<ModelInfo> {
        let mut models = FakeAnalyzer.models();
        models.push(ModelInfo {
            name: "broken".to_string(),
            description: "cannot read broken/model.json: no such file".to_string(),
            available: false,
        });
        models
    }

    fn analyze(&self, request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError> {
        assert_ne!(request.model, "broken", "the route refuses it first");
        FakeAnalyzer.analyze(request)
    }
}

#[tokio::test]
async fn a_model_that_failed_to_load_is_listed_unavailable_and_gets_503() {
    let app = app(AppState::new(Arc::new(WithBrokenModel), test_limits()));
    let listed = send(app.clone(), get("/api/models")).await.json();
    assert_valid(&listed, "Models");
    assert_eq!(listed["models"][0]["available"], true);
    assert_eq!(listed["models"][2]["available"], false);

    let reply = send(
        app.clone(),
        post_raw(
            "/api/analyze?model=broken",
            "audio/wav",
            tone_wav(&[(440.0, 1.0)]),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !reply.headers.contains_key(header::RETRY_AFTER),
        "retrying will not load it"
    );
    let message = reply.error();
    assert!(
        message.contains("\"broken\" is unavailable") && message.contains("no such file"),
        "{message}"
    );
    let other = send(
        app,
        post_raw("/api/analyze", "audio/wav", tone_wav(&[(440.0, 1.0)])),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "the other models still work");
}

#[tokio::test]
async fn empty_bodies_bad_queries_and_missing_fields_get_400() {
    for request in [
        post_raw("/api/analyze", "audio/wav", Vec::new()),
        Request::post("/api/analyze")
            .body(Body::empty())
            .expect("request"),
        post_multipart("/api/analyze", "file", "empty.wav", &[]),
        post_multipart("/api/analyze", "audio", "x.wav", &tone_wav(&[(440.0, 1.0)])),
        post_raw(
            "/api/analyze",
            "multipart/form-data; boundary=zzz",
            b"garbage".to_vec(),
        ),
        post_raw(
            "/api/analyze?top_k=0",
            "audio/wav",
            tone_wav(&[(440.0, 1.0)]),
        ),
        post_raw(
            "/api/analyze?top_k=21",
            "audio/wav",
            tone_wav(&[(440.0, 1.0)]),
        ),
        post_raw(
            "/api/analyze?top_k=many",
            "audio/wav",
            tone_wav(&[(440.0, 1.0)]),
        ),
    ] {
        let uri = request.uri().clone();
        let reply = send(fake_app(), request).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(!reply.error().is_empty());
    }
}

#[tokio::test]
async fn wrong_methods_get_405_with_allow_and_unknown_paths_404() {
    for (method, uri, allowed) in [
        (Method::GET, "/api/analyze", "POST"),
        (Method::PUT, "/api/analyze", "POST"),
        (Method::POST, "/api/models", "GET"),
        (Method::DELETE, "/", "GET"),
    ] {
        let reply = send(
            fake_app(),
            Request::builder()
                .method(method.clone())
                .uri(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert!(
            reply.headers[header::ALLOW]
                .to_str()
                .expect("allow")
                .contains(allowed),
            "{method} {uri}"
        );
        assert_eq!(reply.error(), "method not allowed");
    }
    let reply = send(fake_app(), get("/api/nothing")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.error().contains("/api/nothing"));
}

// ---- load, time and failures ---------------------------------------------------------------------------

/// Blocks each analysis until released or cancelled, and says which happened.
struct GateAnalyzer {
    started: mpsc::UnboundedSender<()>,
    cancelled: mpsc::UnboundedSender<()>,
    open: Arc<AtomicBool>,
}

impl GateAnalyzer {
    fn new() -> (
        Self,
        mpsc::UnboundedReceiver<()>,
        mpsc::UnboundedReceiver<()>,
        Arc<AtomicBool>,
    ) {
        let (started, started_rx) = mpsc::unbounded_channel();
        let (cancelled, cancelled_rx) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicBool::new(false));
        (
            Self {
                started,
                cancelled,
                open: Arc::clone(&open),
            },
            started_rx,
            cancelled_rx,
            open,
        )
    }
}

impl Analyzer for GateAnalyzer {
    fn models(&self) -> Vec<ModelInfo> {
        FakeAnalyzer.models()
    }

    fn analyze(&self, request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError> {
        let _ = self.started.send(());
        // Bounded so a broken test cannot hang: 20 s at most.
        for _ in 0..4000 {
            if request.cancel.is_cancelled() {
                let _ = self.cancelled.send(());
                return Err(AnalyzeError::Cancelled);
            }
            if self.open.load(Ordering::Relaxed) {
                return FakeAnalyzer.analyze(request);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(AnalyzeError::Internal("gate never opened".into()))
    }
}

async fn recv_within(rx: &mut mpsc::UnboundedReceiver<()>, what: &str) {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
        .unwrap_or_else(|| panic!("{what}: channel closed"));
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_queue_then_get_503_with_retry_after() {
    let (gate, mut started, _cancelled, open) = GateAnalyzer::new();
    let limits = Limits {
        max_concurrent: 1,
        queue_timeout: Duration::from_millis(100),
        ..test_limits()
    };
    let app = app(AppState::new(Arc::new(gate), limits));
    let wav = tone_wav(&[(440.0, 1.0)]);
    let first = tokio::spawn(send(
        app.clone(),
        post_raw("/api/analyze", "audio/wav", wav.clone()),
    ));
    recv_within(&mut started, "first analysis start").await;

    let health = send(app.clone(), get("/api/health")).await.json();
    assert_eq!(health["running"], 1);
    let second = send(
        app.clone(),
        post_raw("/api/analyze", "audio/wav", wav.clone()),
    )
    .await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.headers[header::RETRY_AFTER], "1");
    assert!(second.error().contains("busy"), "{}", second.error());

    open.store(true, Ordering::Relaxed);
    let first = first.await.expect("first request task");
    assert_eq!(
        first.status,
        StatusCode::OK,
        "the queued-out request does not disturb the running one"
    );
    let third = send(app, post_raw("/api/analyze", "audio/wav", wav)).await;
    assert_eq!(third.status, StatusCode::OK, "the slot is free again");
}

#[tokio::test]
async fn a_queued_request_runs_when_a_slot_frees_up() {
    let (gate, mut started, _cancelled, open) = GateAnalyzer::new();
    let limits = Limits {
        max_concurrent: 1,
        ..test_limits()
    };
    let app = app(AppState::new(Arc::new(gate), limits));
    let wav = tone_wav(&[(440.0, 1.0)]);
    let first = tokio::spawn(send(
        app.clone(),
        post_raw("/api/analyze", "audio/wav", wav.clone()),
    ));
    recv_within(&mut started, "first analysis start").await;
    let second = tokio::spawn(send(app, post_raw("/api/analyze", "audio/wav", wav)));
    open.store(true, Ordering::Relaxed);
    assert_eq!(first.await.expect("first").status, StatusCode::OK);
    assert_eq!(second.await.expect("second").status, StatusCode::OK);
}

#[tokio::test]
async fn an_analysis_past_the_timeout_gets_504_and_is_cancelled() {
    let (gate, _started, mut cancelled, _open) = GateAnalyzer::new();
    let limits = Limits {
        analysis_timeout: Duration::from_millis(50),
        ..test_limits()
    };
    let app = app(AppState::new(Arc::new(gate), limits));
    let reply = send(
        app,
        post_raw("/api/analyze", "audio/wav", tone_wav(&[(440.0, 1.0)])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(reply.error().contains("timed out"), "{}", reply.error());
    recv_within(&mut cancelled, "cancellation after the timeout").await;
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_its_analysis() {
    use tokio::io::AsyncWriteExt;

    let (gate, mut started, mut cancelled, _open) = GateAnalyzer::new();
    let state = AppState::new(Arc::new(gate), test_limits());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(insrec_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let wav = tone_wav(&[(440.0, 1.0)]);
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/analyze HTTP/1.1\r\nHost: {addr}\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\n\r\n",
        wav.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(&wav).await.expect("write body");
    recv_within(&mut started, "analysis start").await;
    drop(stream);
    recv_within(&mut cancelled, "cancellation after the disconnect").await;

    let _ = stop.send(());
    server
        .await
        .expect("server task")
        .expect("server stops cleanly");
}

/// Panics inside every analysis.
struct PanickingAnalyzer;

impl Analyzer for PanickingAnalyzer {
    fn models(&self) -> Vec<ModelInfo> {
        FakeAnalyzer.models()
    }

    fn analyze(&self, _request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError> {
        panic!("shape mismatch deep in the model")
    }
}

#[tokio::test]
async fn an_internal_failure_gets_a_bare_500_and_frees_its_slot() {
    let limits = Limits {
        max_concurrent: 1,
        queue_timeout: Duration::from_millis(100),
        ..test_limits()
    };
    let app = app(AppState::new(Arc::new(PanickingAnalyzer), limits));
    for _ in 0..2 {
        let reply = send(
            app.clone(),
            post_raw("/api/analyze", "audio/wav", tone_wav(&[(440.0, 1.0)])),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            reply.error()
        );
        assert_eq!(
            reply.error(),
            "internal server error",
            "no internals leak to the client"
        );
    }
}

// ---- a structural JSON Schema check against openapi.json --------------------------------------------

fn openapi() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json parses")
}

/// Panics with every mismatch between `value` and the named schema of `components.schemas`.
fn assert_valid(value: &Value, schema_name: &str) {
    let doc = openapi();
    let schema = &doc["components"]["schemas"][schema_name];
    assert!(
        schema.is_object(),
        "no schema {schema_name} in openapi.json"
    );
    let mut problems = Vec::new();
    check(&doc, schema, value, schema_name, &mut problems);
    assert!(
        problems.is_empty(),
        "response does not match {schema_name}:\n{}",
        problems.join("\n")
    );
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(
            doc,
            &doc["components"]["schemas"][name],
            value,
            at,
            problems,
        );
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
    if !type_ok {
        problems.push(format!("{at}: {value} is not of type {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} not in enum"));
    }
    if let Some(n) = value.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max))
    {
        problems.push(format!("{at}: {n} out of range"));
    }
    if let Some(object) = value.as_object() {
        for key in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                problems.push(format!("{at}: missing required {key:?}"));
            }
        }
        for (key, item) in object {
            let property = &schema["properties"][key];
            if property.is_object() {
                check(doc, property, item, &format!("{at}.{key}"), problems);
            } else if schema["additionalProperties"].is_object() {
                check(
                    doc,
                    &schema["additionalProperties"],
                    item,
                    &format!("{at}.{key}"),
                    problems,
                );
            } else if schema["properties"].is_object() {
                problems.push(format!("{at}: undocumented property {key:?}"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if schema["minItems"].as_u64().is_some_and(|min| len < min)
            || schema["maxItems"].as_u64().is_some_and(|max| len > max)
        {
            problems.push(format!("{at}: {len} items out of range"));
        }
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
        }
    }
}
