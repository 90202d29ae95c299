//! [`PipelineAnalyzer`]: the pipeline's recognisers behind the server's [`Analyzer`] seam.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use insrec_audio::{AudioError, AudioSource};
use insrec_core::FileReport;
use insrec_encoders::compact::MODEL_JSON;
use insrec_pipeline::{AnalyzeOptions, PipelineError, Recognizer};
use insrec_server::{AnalyzeError, AnalyzeRequest, Analyzer, ModelInfo};

use crate::cli::recognizers;

/// The models on offer, the default first; a model that failed to load stays listed with the reason.
pub(super) struct PipelineAnalyzer {
    models: Vec<Model>,
}

struct Model {
    info: ModelInfo,
    recognizer: Result<Recognizer, String>,
}

impl PipelineAnalyzer {
    /// Loads each `--model` (named as its recogniser), then every model folder in `models_dir` (named after
    /// its folder). Decoding refuses audio longer than `max_duration_s`: the server's limit, so the same value
    /// as every request's `max_duration_s`.
    pub(super) fn load(
        specs: &[String],
        models_dir: Option<&Path>,
        max_duration_s: f64,
    ) -> anyhow::Result<Self> {
        let load = |spec: &str| {
            recognizers::load(spec)
                .map(|mut recognizer| {
                    recognizer.stream.limits.max_duration_s = max_duration_s;
                    recognizer
                })
                .map_err(|err| format!("{err:#}"))
        };
        let mut models: Vec<Model> = Vec::new();
        for spec in specs {
            let model = Model::new(None, spec, load(spec));
            if models.iter().any(|m| m.info.name == model.info.name) {
                bail!(
                    "model {spec:?}: another --model is also named {:?}",
                    model.info.name
                );
            }
            models.push(model);
        }
        for (name, dir) in models_dir
            .map(model_folders)
            .transpose()?
            .unwrap_or_default()
        {
            if models.iter().any(|m| m.info.name == name) {
                tracing::warn!(folder = %dir.display(), "skipped: another model is named {name:?}");
                continue;
            }
            let spec = dir.to_string_lossy();
            models.push(Model::new(Some(name), &spec, load(&spec)));
        }
        Ok(Self { models })
    }

    /// Names and reasons of the models that failed to load.
    pub(super) fn unavailable(&self) -> impl Iterator<Item = (&str, &str)> {
        self.models.iter().filter_map(|m| {
            m.recognizer
                .as_ref()
                .err()
                .map(|reason| (m.info.name.as_str(), reason.as_str()))
        })
    }
}

/// The folders of `dir` that hold a `model.json`, with their names, sorted.
fn model_folders(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("--models-dir {}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("--models-dir {}", dir.display()))?
            .path();
        if !path.join(MODEL_JSON).is_file() {
            continue;
        }
        match path.file_name().and_then(|n| n.to_str()) {
            Some(name) => folders.push((name.to_string(), path.clone())),
            None => tracing::warn!(folder = %path.display(), "skipped: the name is not UTF-8"),
        }
    }
    folders.sort();
    Ok(folders)
}

impl Model {
    /// A model named `name`, or its recogniser's name (`spec` when it failed to load).
    fn new(name: Option<String>, spec: &str, recognizer: Result<Recognizer, String>) -> Self {
        let info = match &recognizer {
            Ok(loaded) => ModelInfo {
                name: name.unwrap_or_else(|| loaded.name.clone()),
                description: if spec == recognizers::DEFAULT {
                    "embedded default model".to_string()
                } else {
                    format!("loaded from {spec}")
                },
                available: true,
            },
            Err(reason) => ModelInfo {
                name: name.unwrap_or_else(|| spec.to_string()),
                description: format!("unavailable: {reason}"),
                available: false,
            },
        };
        Self { info, recognizer }
    }
}

impl Analyzer for PipelineAnalyzer {
    fn models(&self) -> Vec<ModelInfo> {
        self.models.iter().map(|m| m.info.clone()).collect()
    }

    fn analyze(&self, request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError> {
        let model = self
            .models
            .iter()
            .find(|m| m.info.name == request.model)
            .ok_or_else(|| AnalyzeError::UnknownModel {
                name: request.model.to_string(),
                known: self.models.iter().map(|m| m.info.name.clone()).collect(),
            })?;
        let recognizer =
            model
                .recognizer
                .as_ref()
                .map_err(|reason| AnalyzeError::ModelUnavailable {
                    name: model.info.name.clone(),
                    reason: reason.clone(),
                })?;
        let source = AudioSource::Bytes {
            name: request.filename_hint.unwrap_or("upload").to_string(),
            data: Arc::from(request.audio),
        };
        let options = AnalyzeOptions {
            cancel: Some(request.cancel.as_atomic()),
        };
        recognizer.analyze(&source, &options).map_err(analyze_error)
    }
}

/// Sorts a pipeline failure into the client's fault (with the reason) or the server's.
fn analyze_error(err: PipelineError) -> AnalyzeError {
    match err {
        PipelineError::Audio(AudioError::Unsupported { reason, .. }) => {
            AnalyzeError::Unsupported { reason }
        }
        PipelineError::Audio(AudioError::Corrupt { reason, .. }) => {
            AnalyzeError::Corrupt { reason }
        }
        PipelineError::Audio(AudioError::LimitExceeded { what, limit, .. }) => {
            AnalyzeError::LimitExceeded {
                reason: format!("{what} exceeds the limit of {limit}"),
            }
        }
        PipelineError::Audio(AudioError::Cancelled { .. }) | PipelineError::Cancelled { .. } => {
            AnalyzeError::Cancelled
        }
        err if err.is_bad_input() => AnalyzeError::Invalid {
            reason: err.to_string(),
        },
        err => AnalyzeError::Internal(Box::new(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use insrec_core::{Instrument, NUM_CLASSES};
    use insrec_pipeline::{FrameEncoder, FrameHead};
    use insrec_server::CancelFlag;

    use super::*;

    /// One number per example: its mean log-mel value.
    struct MeanEncoder;

    impl FrameEncoder for MeanEncoder {
        fn dim(&self) -> usize {
            1
        }

        fn encode(&self, examples: &[f32]) -> Result<Vec<f32>, String> {
            Ok(examples
                .chunks(96 * 64)
                .map(|e| e.iter().sum::<f32>() / e.len() as f32)
                .collect())
        }
    }

    /// Class `i` scores `(i + 1) / 21` in every frame.
    struct RampHead;

    impl FrameHead for RampHead {
        fn frame_probabilities(
            &self,
            embeddings: &[f32],
            dim: usize,
        ) -> Result<Vec<[f32; NUM_CLASSES]>, String> {
            let ramp = std::array::from_fn(|i| (i + 1) as f32 / (NUM_CLASSES + 1) as f32);
            Ok(vec![ramp; embeddings.len() / dim])
        }
    }

    /// A `ramp` model that scores every upload the same, and a `broken` one that failed to load.
    fn analyzer(max_duration_s: f64) -> PipelineAnalyzer {
        let mut stream = insrec_audio::StreamOptions::default();
        stream.limits.max_duration_s = max_duration_s;
        let recognizer = Recognizer {
            name: "ramp".to_string(),
            stream,
            encoder: Box::new(MeanEncoder),
            head: Box::new(RampHead),
            thresholds: [0.5; NUM_CLASSES],
            half_frame_view: false,
        };
        PipelineAnalyzer {
            models: vec![
                Model::new(None, "models/ramp", Ok(recognizer)),
                Model::new(None, "broken", Err("no model.json in broken/".to_string())),
            ],
        }
    }

    fn wav(seconds: f64) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).expect("wav header");
        for i in 0..(seconds * 16_000.0) as usize {
            let t = i as f64 / 16_000.0;
            writer
                .write_sample(((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 8000.0) as i16)
                .expect("sample");
        }
        writer.finalize().expect("finalize");
        cursor.into_inner()
    }

    fn analyze(
        analyzer: &PipelineAnalyzer,
        audio: &[u8],
        model: &str,
    ) -> Result<FileReport, AnalyzeError> {
        analyzer.analyze(&AnalyzeRequest {
            audio,
            filename_hint: Some("tone.wav"),
            model,
            max_duration_s: 60.0,
            cancel: &CancelFlag::new(),
        })
    }

    #[test]
    fn uploads_run_through_the_recognizer() {
        let report = analyze(&analyzer(60.0), &wav(3.0), "ramp").expect("a clean WAV analyses");
        assert_eq!(report.path, "tone.wav");
        assert!(
            (report.duration_s - 3.0).abs() < 0.01,
            "{}",
            report.duration_s
        );
        assert_eq!(report.frames.len(), 3);
        assert_eq!(
            report.scores.ranked()[0].0,
            Instrument::ALL[NUM_CLASSES - 1]
        );
        assert_eq!(
            report.present.len(),
            NUM_CLASSES / 2,
            "scores above the 0.5 thresholds"
        );
    }

    #[test]
    fn bad_uploads_are_the_clients_fault_with_a_reason() {
        let analyzer = analyzer(2.0);
        let mut truncated = wav(1.0);
        truncated.truncate(30);
        for (audio, what) in [
            (b"definitely not audio".to_vec(), "garbage"),
            (truncated, "truncated"),
            (wav(3.0), "too long"),
            (wav(0.2), "too short"),
        ] {
            let err = analyze(&analyzer, &audio, "ramp").expect_err(what);
            assert!(
                matches!(
                    err,
                    AnalyzeError::Unsupported { .. }
                        | AnalyzeError::Corrupt { .. }
                        | AnalyzeError::LimitExceeded { .. }
                        | AnalyzeError::Invalid { .. }
                ),
                "{what}: {err:?}"
            );
        }
        let too_long = analyze(&analyzer, &wav(3.0), "ramp").expect_err("3 s > 2 s");
        assert!(too_long.to_string().contains("limit of 2 s"), "{too_long}");
        assert!(matches!(
            analyze(&analyzer, &wav(1.5), "nope"),
            Err(AnalyzeError::UnknownModel { .. })
        ));
    }

    #[test]
    fn a_model_that_failed_to_load_is_listed_unavailable_with_the_reason() {
        let analyzer = analyzer(60.0);
        let models = analyzer.models();
        assert_eq!(
            models
                .iter()
                .map(|m| (m.name.as_str(), m.available))
                .collect::<Vec<_>>(),
            [("ramp", true), ("broken", false)]
        );
        assert!(models[1].description.contains("no model.json"));
        assert_eq!(
            analyzer.unavailable().collect::<Vec<_>>(),
            [("broken", "no model.json in broken/")]
        );
        let err = analyze(&analyzer, &wav(1.5), "broken").expect_err("broken");
        assert!(
            matches!(err, AnalyzeError::ModelUnavailable { ref name, .. } if name == "broken"),
            "{err:?}"
        );
    }

    #[test]
    fn a_models_folder_offers_each_model_folder_by_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
        for name in ["tuned", "default"] {
            std::fs::create_dir(dir.path().join(name)).expect("mkdir");
            for file in [MODEL_JSON, insrec_encoders::compact::WEIGHTS_BPK] {
                std::fs::copy(shipped.join(file), dir.path().join(name).join(file)).expect("copy");
            }
        }
        std::fs::create_dir(dir.path().join("broken")).expect("mkdir");
        std::fs::write(dir.path().join("broken").join(MODEL_JSON), "{}").expect("write");
        std::fs::create_dir(dir.path().join("notes")).expect("mkdir");

        let analyzer = PipelineAnalyzer::load(&["default".to_string()], Some(dir.path()), 60.0)
            .expect("loads");
        let models = analyzer.models();
        assert_eq!(
            models
                .iter()
                .map(|m| (m.name.as_str(), m.available))
                .collect::<Vec<_>>(),
            [("default", true), ("broken", false), ("tuned", true)],
            "the embedded default first; the folder named default is skipped, notes/ has no model"
        );
        assert!(models[1].description.contains(MODEL_JSON), "{models:?}");
        let report = analyze(&analyzer, &wav(2.5), "tuned").expect("the folder's model analyses");
        assert_eq!(report.frames.len(), 2);

        let missing = dir.path().join("missing");
        let err = PipelineAnalyzer::load(&[], Some(&missing), 60.0)
            .err()
            .expect("a missing --models-dir is an error");
        assert!(format!("{err:#}").contains("missing"), "{err:#}");
    }

    #[test]
    fn a_set_cancel_flag_stops_the_analysis() {
        let cancel = CancelFlag::new();
        cancel.cancel();
        let result = analyzer(60.0).analyze(&AnalyzeRequest {
            audio: &wav(3.0),
            filename_hint: None,
            model: "ramp",
            max_duration_s: 60.0,
            cancel: &cancel,
        });
        assert!(matches!(result, Err(AnalyzeError::Cancelled)), "{result:?}");
    }
}
