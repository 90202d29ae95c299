//! From per-frame probabilities to a file's overall scores and the classes judged present.

use insrec_core::{ClassScores, Instrument, NUM_CLASSES};

/// The timeline a user sees: each frame's probabilities averaged with its two neighbours' (the
/// first and last frames repeated beyond the ends), so that one stray frame neither decides a
/// file nor flickers in the chart. It raises the default model's frame mAP by 0.005 (README,
/// "Default model").
pub fn smooth_timeline(frames: &[[f32; NUM_CLASSES]]) -> Vec<[f32; NUM_CLASSES]> {
    let last = frames.len().saturating_sub(1);
    (0..frames.len())
        .map(|i| {
            let (prev, here, next) = (
                &frames[i.saturating_sub(1)],
                &frames[i],
                &frames[(i + 1).min(last)],
            );
            std::array::from_fn(|c| (prev[c] + here[c] + next[c]) / 3.0)
        })
        .collect()
}

/// Each frame's probabilities averaged with the half-frame view's: `shifted[j]` is the example
/// starting 0.48 s into frame `j`, so frame `i` overlaps `shifted[i − 1]` and `shifted[i]` by half
/// each; the frame counts half, the mean of the overlapping shifted ones the other half (a frame
/// with none keeps its own). A second look at the same audio, cut elsewhere: it raises the default
/// model's clip and frame mAP (README, "Default model").
pub fn merge_half_frame_view(
    frames: &[[f32; NUM_CLASSES]],
    shifted: &[[f32; NUM_CLASSES]],
) -> Vec<[f32; NUM_CLASSES]> {
    frames
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let overlapping: Vec<_> = [i.checked_sub(1), Some(i)]
                .into_iter()
                .flatten()
                .filter_map(|j| shifted.get(j))
                .collect();
            if overlapping.is_empty() {
                return *frame;
            }
            let n = overlapping.len() as f32;
            std::array::from_fn(|c| {
                let other = overlapping.iter().map(|s| s[c]).sum::<f32>() / n;
                (frame[c] + other) / 2.0
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

    /// Asserts `instrument`'s scores along `timeline`.
    fn assert_track(timeline: &[[f32; NUM_CLASSES]], instrument: Instrument, expected: &[f32]) {
        let track: Vec<f32> = timeline.iter().map(|f| f[instrument.index()]).collect();
        assert_eq!(track.len(), expected.len(), "{track:?}");
        assert!(
            track
                .iter()
                .zip(expected)
                .all(|(t, e)| (t - e).abs() < 1e-6),
            "{track:?} vs {expected:?}"
        );
    }

    #[test]
    fn one_stray_frame_does_not_make_a_class_present() {
        let mut frames = vec![[0.0; NUM_CLASSES]; 8];
        frames[4][Instrument::Piano.index()] = 0.9; // a single frame
        for f in &mut frames[1..5] {
            f[Instrument::Drums.index()] = 0.8; // four frames in a row
        }
        let timeline = smooth_timeline(&frames);
        let piano = [0.0, 0.0, 0.0, 0.3, 0.3, 0.3, 0.0, 0.0];
        assert_track(&timeline, Instrument::Piano, &piano);
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
        // (0.6 + 0.6 + 0) / 3, (0.6 + 0 + 0.3) / 3, (0 + 0.3 + 0.3) / 3
        assert_track(
            &smooth_timeline(&frames),
            Instrument::Voice,
            &[0.4, 0.3, 0.2],
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

    #[test]
    fn the_half_frame_view_counts_half() {
        let frame = |v: f32| [v; NUM_CLASSES];
        let frames = [frame(0.0), frame(0.4), frame(0.8), frame(0.2)];
        // Three shifted examples: the last frame overlaps only the third.
        let shifted = [frame(1.0), frame(0.6), frame(0.0)];
        let merged = merge_half_frame_view(&frames, &shifted);
        assert_track(&merged, Instrument::Piano, &[0.5, 0.6, 0.55, 0.1]);
        assert_eq!(merge_half_frame_view(&frames, &[]), frames.to_vec());
    }
}
