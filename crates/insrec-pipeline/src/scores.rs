//! From per-frame probabilities to a file's overall scores and the classes judged present.

use insrec_core::{ClassScores, Instrument, NUM_CLASSES};

/// Frames averaged before taking the maximum, so one stray frame cannot decide a whole file.
const SMOOTHING_FRAMES: usize = 3;

/// Overall score of each class: the maximum over time of its probability averaged over
/// 3 consecutive frames (a plain maximum for files shorter than that).
pub fn file_scores(frames: &[[f32; NUM_CLASSES]]) -> ClassScores {
    let window = SMOOTHING_FRAMES.min(frames.len()).max(1);
    let mut scores = [0.0f32; NUM_CLASSES];
    for run in frames.windows(window) {
        for (c, score) in scores.iter_mut().enumerate() {
            let mean = run.iter().map(|f| f[c]).sum::<f32>() / window as f32;
            *score = score.max(mean);
        }
    }
    ClassScores(scores)
}

/// Classes whose score reaches their threshold, by descending score.
pub fn present(scores: &ClassScores, thresholds: &[f32; NUM_CLASSES]) -> Vec<Instrument> {
    scores
        .ranked()
        .into_iter()
        .filter(|(inst, score)| *score >= thresholds[inst.index()])
        .map(|(inst, _)| inst)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stray_frame_does_not_make_a_class_present() {
        let mut frames = vec![[0.0; NUM_CLASSES]; 8];
        frames[4][Instrument::Piano.index()] = 0.9; // a single frame
        for f in &mut frames[1..5] {
            f[Instrument::Drums.index()] = 0.8; // four frames in a row
        }
        let scores = file_scores(&frames);
        assert!((scores.get(Instrument::Piano) - 0.3).abs() < 1e-6);
        assert!((scores.get(Instrument::Drums) - 0.8).abs() < 1e-6);
        assert_eq!(
            present(&scores, &[0.5; NUM_CLASSES]),
            vec![Instrument::Drums]
        );
        let mut low = [0.5; NUM_CLASSES];
        low[Instrument::Piano.index()] = 0.25;
        assert_eq!(
            present(&scores, &low),
            vec![Instrument::Drums, Instrument::Piano]
        );
    }

    #[test]
    fn short_files_use_the_plain_maximum() {
        let mut frame = [0.0; NUM_CLASSES];
        frame[Instrument::Voice.index()] = 0.7;
        assert_eq!(file_scores(&[frame]).get(Instrument::Voice), 0.7);
        assert_eq!(file_scores(&[]).get(Instrument::Voice), 0.0);
    }
}
