//! The analysis report: what `insrec analyze --format json` prints and `POST /api/analyze` returns.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Instrument, NUM_CLASSES};

/// Scores for the 20 classes in OpenMIC order; serialised as a JSON object `{class: score}` in that order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassScores(pub [f32; NUM_CLASSES]);

impl ClassScores {
    /// The score of one class.
    pub fn get(&self, instrument: Instrument) -> f32 {
        self.0[instrument.index()]
    }

    /// Classes sorted by descending score (ties keep OpenMIC order).
    pub fn ranked(&self) -> Vec<(Instrument, f32)> {
        let mut ranked: Vec<_> = Instrument::ALL.iter().map(|&i| (i, self.get(i))).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }
}

impl Serialize for ClassScores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(NUM_CLASSES))?;
        for inst in Instrument::ALL {
            map.serialize_entry(inst.name(), &self.get(inst))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ClassScores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::HashMap::<String, f32>::deserialize(deserializer)?;
        let mut scores = [0.0; NUM_CLASSES];
        for inst in Instrument::ALL {
            scores[inst.index()] = *map.get(inst.name()).ok_or_else(|| {
                serde::de::Error::custom(format!("missing class {:?}", inst.name()))
            })?;
        }
        Ok(Self(scores))
    }
}

/// Scores of one 0.96 s embedding frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameScores {
    /// Start of the frame in seconds from the beginning of the file.
    pub start_s: f64,
    /// The 20 class scores in `AnalysisReport::classes` order.
    pub scores: [f32; NUM_CLASSES],
}

/// The result for one input file; `error` is set (and the rest empty) when it could not be analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub path: String,
    pub duration_s: f64,
    pub scores: ClassScores,
    /// Classes judged present (score at or above their threshold), by descending score.
    pub present: Vec<Instrument>,
    pub frames: Vec<FrameScores>,
    pub error: Option<String>,
}

impl FileReport {
    /// The report of a file that failed, carrying the reason.
    pub fn failed(path: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            duration_s: 0.0,
            scores: ClassScores::default(),
            present: Vec::new(),
            frames: Vec::new(),
            error: Some(error.into()),
        }
    }
}

/// One analysis run over one or more files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    /// Name of the model that produced the scores.
    pub model: String,
    /// The 20 class names, in the order of every `frames[].scores` array.
    pub classes: Vec<String>,
    pub files: Vec<FileReport>,
}

impl AnalysisReport {
    /// An empty report for `model`, with the class list filled in.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            classes: Instrument::names().iter().map(|s| s.to_string()).collect(),
            files: Vec::new(),
        }
    }
}

impl Serialize for Instrument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Instrument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_round_trips_with_classes_in_order() {
        let mut scores = [0.0; NUM_CLASSES];
        scores[Instrument::Piano.index()] = 0.9;
        scores[Instrument::Voice.index()] = 0.4;
        let mut report = AnalysisReport::new("default");
        report.files.push(FileReport {
            path: "song.mp3".into(),
            duration_s: 1.5,
            scores: ClassScores(scores),
            present: vec![Instrument::Piano],
            frames: vec![FrameScores {
                start_s: 0.0,
                scores,
            }],
            error: None,
        });
        report.files.push(FileReport::failed("bad.mp3", "corrupt"));
        let json = serde_json::to_string(&report).expect("serialise");
        assert!(json.starts_with(r#"{"model":"default","classes":["accordion","banjo","#));
        assert!(json.contains(r#""scores":{"accordion":0.0,"banjo":0.0"#));
        assert!(json.contains(r#""present":["piano"]"#));
        assert!(json.contains(r#""error":"corrupt""#));
        let back: AnalysisReport = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, report);
        assert_eq!(report.files[0].scores.ranked()[0], (Instrument::Piano, 0.9));
    }
}
