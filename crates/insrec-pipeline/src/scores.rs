//! From per-frame probabilities to a file's overall scores and the classes judged present.

use insrec_core::{ClassScores, Instrument, NUM_CLASSES};

/// Frames in the centred average that smooths a timeline.
const SMOOTHING_FRAMES: usize = 3;

/// The timeline a user sees: each frame's probabilities averaged with its neighbours' (a centred
/// window of 3 frames, the first and last frames repeated beyond the ends), so that one stray
/// frame neither decides a file nor flickers in the chart. It raises the default model's frame
/// mAP by 0.005 (README, "Default model").
pub fn smooth_timeline(frames: &[[f32; NUM_CLASSES]]) -> Vec<[f32; NUM_CLASSES]> {
    let half = SMOOTHING_FRAMES / 2;
    let last = frames.len().saturating_sub(1);
    (0..frames.len())
        .map(|i| {
            std::array::from_fn(|c| {
                let sum: f32 = (i as isize - half as isize..=(i + half) as isize)
                    .map(|j| frames[(j.max(0) as usize).min(last)][c])
                    .sum();
                sum / SMOOTHING_FRAMES as f32
            })
        })
        .collect()
}

/// Overall score of each class: its maximum over a (smoothed) timeline; 0 for an empty one.
pub fn file_scores(timeline: &[[f32; NUM_CLASSES]]) -> ClassScores {
    let mut scores = [0.0f32; NUM_CLASSES];
    for frame in timeline {
        for (score, p) in scores.iter_mut().zip(frame) {
            *score = score.max(*p);
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
        let timeline = smooth_timeline(&frames);
        let piano: Vec<f32> = timeline
            .iter()
            .map(|f| f[Instrument::Piano.index()])
            .collect();
        let expected = [0.0, 0.0, 0.0, 0.3, 0.3, 0.3, 0.0, 0.0];
        assert!(
            piano
                .iter()
                .zip(expected)
                .all(|(p, e)| (p - e).abs() < 1e-6),
            "{piano:?}"
        );
        let scores = file_scores(&timeline);
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
    fn the_ends_repeat_the_first_and_last_frames() {
        let mut frames = vec![[0.0; NUM_CLASSES]; 3];
        frames[0][Instrument::Voice.index()] = 0.6;
        frames[2][Instrument::Voice.index()] = 0.3;
        let voice: Vec<f32> = smooth_timeline(&frames)
            .iter()
            .map(|f| f[Instrument::Voice.index()])
            .collect();
        let expected = [0.4, 0.3, 0.2]; // (0.6 + 0.6 + 0) / 3, (0.6 + 0 + 0.3) / 3, (0 + 0.3 + 0.3) / 3
        assert!(
            voice
                .iter()
                .zip(expected)
                .all(|(v, e)| (v - e).abs() < 1e-6),
            "{voice:?}"
        );
    }

    #[test]
    fn a_one_frame_file_keeps_its_frame() {
        let mut frame = [0.0; NUM_CLASSES];
        frame[Instrument::Voice.index()] = 0.7;
        let timeline = smooth_timeline(&[frame]);
        assert!((timeline[0][Instrument::Voice.index()] - 0.7).abs() < 1e-6);
        assert!((file_scores(&timeline).get(Instrument::Voice) - 0.7).abs() < 1e-6);
        assert!(smooth_timeline(&[]).is_empty());
        assert_eq!(file_scores(&[]).get(Instrument::Voice), 0.0);
    }
}
