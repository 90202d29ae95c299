//! Browser test of the InsRec page: headless Chromium driven through chromedriver (W3C WebDriver over HTTP),
//! against the server with the fake analyzer. Run by `tests/browser/run.sh`; exits non-zero on the first
//! failed check and leaves screenshots in `--out`.
//!
//! Needs Debian's `chromium` and `chromium-driver`.

#[path = "../tests/support/clips.rs"]
mod clips;
#[path = "../tests/support/fake_analyzer.rs"]
mod fake_analyzer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use fake_analyzer::FakeAnalyzer;
use insrec_core::AnalysisReport;
use insrec_server::{AnalyzeRequest, Analyzer, AppState, CancelFlag, Limits};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Parser)]
struct Args {
    /// Folder for screenshots, the test clip and downloads.
    #[arg(long, default_value = "target/browser-check")]
    out: PathBuf,
    /// Chromium binary.
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// chromedriver binary.
    #[arg(long, default_value = "/usr/bin/chromedriver")]
    chromedriver: PathBuf,
}

/// How long any one expected change in the page may take.
const WAIT: Duration = Duration::from_secs(30);

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => {
            println!(
                "browser check passed; screenshots in {}",
                args.out.display()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("browser check FAILED: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let out = std::fs::canonicalize(&args.out)?;
    let downloads = out.join("downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads)?;

    // A clip whose dominant tone the fake analyzer names; the expected answer comes from the analyzer itself.
    let clip = clips::tone_wav(&[(440.0, 14.0), (660.0, 6.0), (330.0, 6.0)]);
    let clip_path = out.join("clip.wav");
    std::fs::write(&clip_path, &clip)?;
    let expected = FakeAnalyzer.analyze(&AnalyzeRequest {
        audio: &clip,
        filename_hint: Some("clip.wav"),
        model: "fake-default",
        max_duration_s: 3600.0,
        cancel: &CancelFlag::new(),
    })?;
    let expected_top = expected.scores.ranked()[0].0.name().replace('_', " ");
    let mut corrupt = clip.clone();
    corrupt.truncate(40);
    let corrupt_path = out.join("corrupt.wav");
    std::fs::write(&corrupt_path, &corrupt)?;

    let long_path = out.join("ten-minutes.wav");
    let long_tones: Vec<(f64, f64)> = (0..60)
        .map(|i| ([330.0, 440.0, 550.0, 660.0][i % 4], 10.0))
        .collect();
    std::fs::write(&long_path, clips::tone_wav(&long_tones))?;

    let server = start_server()?;
    let base = format!("http://{server}");
    let profile = tempfile::tempdir()?;
    let driver = Driver::start(&args.chromedriver)?;
    let browser = driver.session(&args.chromium, profile.path(), &downloads)?;
    let files = Files {
        out,
        clip: clip_path,
        corrupt: corrupt_path,
        long_clip: long_path,
        downloads,
    };
    let result = check_page(&browser, &base, &files, &expected_top);
    browser.close();
    result
}

/// The files the check uploads, and where it writes.
struct Files {
    out: PathBuf,
    clip: PathBuf,
    corrupt: PathBuf,
    long_clip: PathBuf,
    downloads: PathBuf,
}

fn check_page(browser: &Session, base: &str, files: &Files, expected_top: &str) -> Result<()> {
    browser.resize(1280, 900)?;
    browser.go(base)?;
    browser.wait_for(
        "the model list",
        "return document.querySelectorAll('#model option').length > 0",
    )?;
    let model = browser.script("return document.getElementById('model').value")?;
    check(
        model == "fake-default",
        format!("default model selected, got {model}"),
    )?;
    browser.screenshot_full(&files.out.join("01-start-desktop.png"))?;

    // Upload by the file picker, then analyse.
    browser
        .find("#file")?
        .send_keys(&files.clip.display().to_string())?;
    browser.wait_for(
        "the file to be chosen",
        "return document.body.dataset.state === 'ready'",
    )?;
    let player = browser.script("const p = document.getElementById('player'); return !p.hidden && p.src.startsWith('blob:')")?;
    check(player == true, "the audio player holds the file")?;
    browser.find("#analyze")?.click()?;
    browser.wait_for(
        "the analysis",
        "return ['done', 'failed'].includes(document.body.dataset.state)",
    )?;
    let error = browser.script("return document.getElementById('error').hidden ? '' : document.getElementById('error').textContent")?;
    check(error == "", format!("no error shown, got {error}"))?;

    let top = browser.script("return document.getElementById('top-name').textContent")?;
    check(
        top == expected_top,
        format!("top instrument {top:?}, expected {expected_top:?}"),
    )?;
    let wiki = browser.script("return document.getElementById('top-wiki').href")?;
    check(
        wiki.as_str()
            .is_some_and(|u| u.starts_with("https://en.wikipedia.org/wiki/")),
        format!("wikipedia link {wiki}"),
    )?;
    let bars = browser.script("return document.querySelectorAll('#bars li').length")?;
    check(bars == 20, format!("20 bars, got {bars}"))?;
    let present =
        browser.script("return document.querySelectorAll('#present li:not(.none)').length")?;
    check(
        present.as_u64().is_some_and(|n| n >= 1),
        format!("present instruments listed, got {present}"),
    )?;

    // The chart: five lines by default, and real pixels in their colours.
    let lines =
        browser.script("return Number(document.getElementById('timeline').dataset.lines)")?;
    check(
        lines == 5,
        format!("5 lines at the default top-k, got {lines}"),
    )?;
    let inked = browser.script(INKED_PIXELS_JS.replace("ID", "timeline").as_str())?;
    check(
        inked.as_u64().is_some_and(|n| n > 2000),
        format!("timeline has drawn pixels, got {inked}"),
    )?;

    // The spectrogram, computed in a worker from the decoded audio.
    browser.wait_for(
        "the spectrogram",
        "return Number(document.getElementById('spectrogram').dataset.columns) > 0",
    )?;
    let spec_inked = browser.script(INKED_PIXELS_JS.replace("ID", "spectrogram").as_str())?;
    check(
        spec_inked.as_u64().is_some_and(|n| n > 20000),
        format!("spectrogram has drawn pixels, got {spec_inked}"),
    )?;
    // On the mel scale up to 8 kHz, the 440 Hz tone sits at mel(440) / mel(8000) of the height.
    let mel = |hz: f64| 1127.0 * (1.0 + hz / 700.0).ln();
    let tone_height = mel(440.0) / mel(8000.0);
    let spec_bright = browser.script(BRIGHTEST_ROW_JS)?;
    check(
        spec_bright
            .as_f64()
            .is_some_and(|r| (r - tone_height).abs() < 0.03),
        format!(
            "the 440 Hz tone is the brightest band: at {spec_bright} of the height, expected {tone_height:.3}"
        ),
    )?;
    browser.screenshot_full(&files.out.join("02-result-desktop.png"))?;

    // Hover shows a tooltip with the time.
    browser.hover_canvas("timeline", 0.3, 0.5)?;
    let tooltip = browser.script(
        "const t = document.getElementById('tooltip'); return t.hidden ? '' : t.textContent",
    )?;
    check(
        tooltip
            .as_str()
            .is_some_and(|t| t.contains("0:0") || t.contains("0:1")),
        format!("tooltip with a time, got {tooltip:?}"),
    )?;

    // Change top-k with the keyboard: the chart redraws with three lines.
    // Select all (Ctrl+A), then type over it.
    browser.find("#topk")?.send_keys("\u{E009}a\u{E000}3")?;
    browser.wait_for(
        "three lines",
        "return document.getElementById('timeline').dataset.lines === '3'",
    )?;
    let legend = browser.script("return document.querySelectorAll('#legend button').length")?;
    check(legend == 3, format!("three legend entries, got {legend}"))?;

    // The legend hides a line.
    browser.find("#legend button")?.click()?;
    browser.wait_for(
        "a hidden line",
        "return document.getElementById('timeline').dataset.lines === '2'",
    )?;
    let pressed = browser
        .script("return document.querySelector('#legend button').getAttribute('aria-pressed')")?;
    check(
        pressed == "false",
        "the legend button reports aria-pressed=false",
    )?;

    // Zoom with the keyboard, then the button; the view narrows.
    let before =
        browser.script("return document.getElementById('timeline').getAttribute('aria-label')")?;
    browser.find("#timeline")?.send_keys("+")?;
    let after =
        browser.script("return document.getElementById('timeline').getAttribute('aria-label')")?;
    check(before != after, format!("'+' zooms the chart: {after}"))?;
    browser.find("[data-zoom='reset']")?.click()?;

    // Clicking the chart seeks the audio.
    browser.click_canvas("timeline", 0.75, 0.5)?;
    browser.wait_for(
        "the seek",
        "return document.getElementById('player').currentTime > 5",
    )?;
    browser.script("document.getElementById('player').pause()")?;
    browser.screenshot_full(&files.out.join("03-topk3-seek-desktop.png"))?;
    browser.script("document.getElementById('timeline').scrollIntoView({ block: 'center' })")?;
    browser.hover_canvas("timeline", 0.45, 0.4)?;
    browser.wait_for(
        "the tooltip",
        "return !document.getElementById('tooltip').hidden",
    )?;
    browser.screenshot(&files.out.join("04-tooltip-desktop.png"))?;

    // Download the JSON; it is the report the API returned.
    browser.find("#dl-json")?.click()?;
    let json_path = files.downloads.join("clip.insrec.json");
    wait_for_file(&json_path)?;
    let report: AnalysisReport = serde_json::from_slice(&std::fs::read(&json_path)?)?;
    check(
        report.files.len() == 1 && report.files[0].path == "clip.wav",
        "downloaded JSON holds clip.wav",
    )?;
    check(
        report.files[0].scores.ranked()[0]
            .0
            .name()
            .replace('_', " ")
            == expected_top,
        "downloaded JSON names the same top instrument",
    )?;
    browser.find("#dl-csv")?.click()?;
    let csv_path = files.downloads.join("clip.insrec.csv");
    wait_for_file(&csv_path)?;
    let csv = std::fs::read_to_string(&csv_path)?;
    check(
        csv.lines().count() == 1 + report.files[0].frames.len(),
        "CSV has a header and one row per frame",
    )?;
    check(
        csv.starts_with("path,start_s,accordion,banjo,"),
        "CSV header",
    )?;

    // Phone width.
    browser.resize(390, 844)?;
    browser.wait_for(
        "the narrow layout",
        "return document.documentElement.clientWidth <= 400",
    )?;
    let overflow = browser.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )?;
    check(
        overflow.as_i64().is_some_and(|px| px <= 0),
        format!("no horizontal scrolling on a phone, overflow {overflow} px"),
    )?;
    browser.screenshot_full(&files.out.join("05-result-phone.png"))?;

    // A corrupt upload shows the server's reason, and the page stays usable.
    browser.resize(1280, 900)?;
    browser
        .find("#file")?
        .send_keys(&files.corrupt.display().to_string())?;
    browser.wait_for(
        "the corrupt file to be chosen",
        "return document.body.dataset.state === 'ready'",
    )?;
    browser.find("#analyze")?.click()?;
    browser.wait_for(
        "the refusal",
        "return document.body.dataset.state === 'failed'",
    )?;
    let error = browser.script("return document.getElementById('error').textContent")?;
    check(
        error.as_str().is_some_and(|e| e.contains("corrupt audio")),
        format!("error names the reason: {error}"),
    )?;
    browser.screenshot_full(&files.out.join("06-corrupt-desktop.png"))?;

    // A 10-minute file: the page analyses and draws it without freezing (no main-thread task over 1 s).
    let observable =
        browser.script("return PerformanceObserver.supportedEntryTypes.includes('longtask')")?;
    check(
        observable == true,
        "the browser reports long main-thread tasks",
    )?;
    browser.script(
        "window.longestTask = 0; new PerformanceObserver((list) => { for (const e of list.getEntries()) \
         window.longestTask = Math.max(window.longestTask, e.duration); }).observe({ type: 'longtask' });",
    )?;
    browser
        .find("#file")?
        .send_keys(&files.long_clip.display().to_string())?;
    browser.wait_for(
        "the long file to be chosen",
        "return document.body.dataset.state === 'ready'",
    )?;
    browser.find("#analyze")?.click()?;
    browser.wait_for(
        "the long analysis",
        "return document.body.dataset.state === 'done'",
    )?;
    browser.wait_for(
        "the long spectrogram",
        "return Number(document.getElementById('spectrogram').dataset.columns) > 0",
    )?;
    let frames = browser.script("return document.getElementById('result-meta').textContent")?;
    check(
        frames.as_str().is_some_and(|m| m.contains("625 frames")),
        format!("10 minutes = 625 frames: {frames}"),
    )?;
    let columns =
        browser.script("return Number(document.getElementById('spectrogram').dataset.columns)")?;
    let longest = browser.script("return window.longestTask")?;
    println!(
        "10-minute file: spectrogram {columns} columns; longest main-thread task {longest} ms"
    );
    check(
        longest.as_f64().is_some_and(|ms| ms < 1000.0),
        format!("the page froze for {longest} ms"),
    )?;
    browser.find("#timeline")?.send_keys("++")?;
    browser.screenshot_full(&files.out.join("07-ten-minutes-zoomed-desktop.png"))?;
    Ok(())
}

/// Counts pixels of canvas `ID` that are not transparent.
const INKED_PIXELS_JS: &str = "const c = document.getElementById('ID'); \
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;";

/// Height (0 = bottom, 1 = top) of the brightest row of the spectrogram's first quarter.
const BRIGHTEST_ROW_JS: &str = "const c = document.getElementById('spectrogram'); \
    const w = Math.floor(c.width / 4), x0 = Math.floor(c.width * 0.1); \
    const d = c.getContext('2d').getImageData(x0, 0, w, c.height).data; \
    let best = -1, row = 0; for (let y = 0; y < c.height; y++) { let s = 0; \
    for (let x = 0; x < w; x++) { const o = (y * w + x) * 4; s += d[o] + d[o + 1] + d[o + 2]; } \
    if (s > best) { best = s; row = y; } } return 1 - row / c.height;";

fn check(ok: bool, what: impl Into<String>) -> Result<()> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn wait_for_file(path: &Path) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("download {} never arrived", path.display()).into())
}

/// Starts the server with the fake analyzer on a free loopback port, on a background runtime.
fn start_server() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(async { tokio::net::TcpListener::from_std(listener) })?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let state = AppState::new(Arc::new(FakeAnalyzer), Limits::default());
            if let Err(err) = insrec_server::serve(listener, state, std::future::pending()).await {
                eprintln!("server stopped: {err}");
            }
        });
    });
    Ok(addr)
}

// ---- a minimal W3C WebDriver client ---------------------------------------------------------------------

/// A running chromedriver; killed on drop.
struct Driver {
    child: Child,
    url: String,
    http: ureq::Agent,
}

impl Driver {
    fn start(binary: &Path) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} ({e}); install chromium-driver",
                    binary.display()
                )
            })?;
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http,
        };
        let start = Instant::now();
        while start.elapsed() < WAIT {
            let ready = driver
                .http
                .get(format!("{}/status", driver.url))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return Ok(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("chromedriver did not become ready".into())
    }

    fn session(&self, chromium: &Path, profile: &Path, downloads: &Path) -> Result<Session<'_>> {
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-dev-shm-usage", "--hide-scrollbars", "--autoplay-policy=no-user-gesture-required",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            },
        }}});
        let value = self.request("POST", "/session", Some(capabilities))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or("no session id")?
            .to_string();
        Ok(Session { driver: self, id })
    }

    /// One WebDriver command; returns its `value`, or the driver's error message.
    fn request(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.url);
        let mut response = match method {
            "GET" => self.http.get(&url).call()?,
            "DELETE" => self.http.delete(&url).call()?,
            _ => self
                .http
                .post(&url)
                .send_json(body.unwrap_or_else(|| json!({})))?,
        };
        let status = response.status();
        let reply: Value = response.body_mut().read_json()?;
        if !status.is_success() {
            return Err(format!(
                "webdriver {method} {path}: {} {}",
                reply["value"]["error"], reply["value"]["message"]
            )
            .into());
        }
        Ok(reply["value"].clone())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

struct Element<'s> {
    session: &'s Session<'s>,
    id: String,
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.driver
            .request(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) -> Result<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .map(drop)
    }

    fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .map(drop)
    }

    fn script(&self, source: &str) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": source, "args": [] })),
        )
    }

    fn find(&self, css: &str) -> Result<Element<'_>> {
        let value = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        let id = value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no element {css}"))?;
        Ok(Element {
            session: self,
            id: id.to_string(),
        })
    }

    /// Polls `condition` (a script returning a boolean) until it holds.
    fn wait_for(&self, what: &str, condition: &str) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if self.script(condition)? == true {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("timed out waiting for {what}").into())
    }

    /// Moves the mouse to a point of a canvas given as fractions of its size.
    fn hover_canvas(&self, id: &str, fx: f64, fy: f64) -> Result<()> {
        self.pointer(id, fx, fy, false)
    }

    fn click_canvas(&self, id: &str, fx: f64, fy: f64) -> Result<()> {
        self.pointer(id, fx, fy, true)
    }

    fn pointer(&self, id: &str, fx: f64, fy: f64, click: bool) -> Result<()> {
        let rect = self.script(&format!(
            "const r = document.getElementById('{id}').getBoundingClientRect(); return [r.width, r.height];"
        ))?;
        let (w, h) = (
            rect[0].as_f64().unwrap_or(0.0),
            rect[1].as_f64().unwrap_or(0.0),
        );
        let element = self.find(&format!("#{id}"))?;
        let origin = json!({ "element-6066-11e4-a52e-4f735466cecf": element.id });
        let x = ((fx - 0.5) * w).round() as i64;
        let y = ((fy - 0.5) * h).round() as i64;
        let mut actions =
            vec![json!({ "type": "pointerMove", "duration": 0, "origin": origin, "x": x, "y": y })];
        if click {
            actions.push(json!({ "type": "pointerDown", "button": 0 }));
            actions.push(json!({ "type": "pointerUp", "button": 0 }));
        }
        let body = json!({ "actions": [{ "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": actions }] });
        self.cmd("POST", "/actions", Some(body)).map(drop)
    }

    /// A PNG of the viewport.
    fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.cmd("GET", "/screenshot", None)?;
        std::fs::write(
            path,
            base64_decode(png.as_str().ok_or("screenshot is not a string")?)?,
        )?;
        println!("screenshot {}", path.display());
        Ok(())
    }

    /// A PNG of the whole page: the window grows to the page's height, then returns to its size.
    fn screenshot_full(&self, path: &Path) -> Result<()> {
        let rect = self.cmd("GET", "/window/rect", None)?;
        let (w, h) = (
            rect["width"].as_u64().unwrap_or(1280) as u32,
            rect["height"].as_u64().unwrap_or(900) as u32,
        );
        let page = self.script("return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight")?;
        self.script("window.scrollTo(0, 0)")?;
        self.resize(w, (page.as_u64().unwrap_or(0) as u32).max(h))?;
        std::thread::sleep(Duration::from_millis(300));
        let shot = self.screenshot(path);
        self.resize(w, h)?;
        shot
    }

    fn close(&self) {
        let _ = self.cmd("DELETE", "", None);
    }
}

impl Element<'_> {
    fn path(&self, action: &str) -> String {
        format!("/element/{}/{action}", self.id)
    }

    fn click(&self) -> Result<()> {
        self.session
            .cmd("POST", &self.path("click"), None)
            .map(drop)
    }

    fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .cmd("POST", &self.path("value"), Some(json!({ "text": text })))
            .map(drop)
    }
}

/// Decodes standard base64 (WebDriver screenshots).
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("invalid base64 byte {c}").into()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}
