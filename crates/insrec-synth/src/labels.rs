//! Frame labels from the energy of the rendered stems.
//!
//! The clip is cut into 20 ms blocks. A block of a stem is *audible* when the stem's level is
//! above [`FLOOR_DB`] relative to the whole mix and above [`MASKED_DB`] relative to the mix in that
//! block (so a part buried under the others does not count). Frame `e` covers 16 kHz samples
//! `[15360 e, 15360 e + 15600)` — the VGGish example grid — i.e. blocks `[48 e, 48 e + 49)`; a class
//! is labelled in a frame when one of its stems has at least [`MIN_AUDIBLE_BLOCKS`] audible blocks
//! there. A clip is labelled with the classes audible in any frame.

use insrec_core::{FRAMES_PER_CLIP, Instrument, NUM_CLASSES};

use crate::effects::sum_of_squares;
use crate::render::StemLabel;

/// Blocks per second.
const BLOCKS_PER_S: usize = 50;
/// Frame hop in blocks (0.96 s).
const FRAME_HOP_BLOCKS: usize = 48;
/// Frame length in blocks (0.98 s, covering the 0.975 s of a VGGish example).
const FRAME_BLOCKS: usize = 49;
/// Stem level, relative to the mix's clip level, below which a block is silent.
pub const FLOOR_DB: f64 = -35.0;
/// Stem level, relative to the mix in the same block, below which the stem is masked.
pub const MASKED_DB: f64 = -20.0;
/// Audible blocks needed in a frame (60 ms).
pub const MIN_AUDIBLE_BLOCKS: usize = 3;

/// Per-frame labels of one clip, `[frame][class]`.
pub type FrameLabels = [[bool; NUM_CLASSES]; FRAMES_PER_CLIP];

/// Mean square of each 20 ms block.
fn block_power(samples: &[f32], block: usize, blocks: usize) -> Vec<f64> {
    (0..blocks)
        .map(|b| {
            let chunk = samples
                .get(b * block..((b + 1) * block).min(samples.len()))
                .unwrap_or(&[]);
            sum_of_squares(chunk) / chunk.len().max(1) as f64
        })
        .collect()
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-20).log10()
}

/// Which frames each stem is audible in; `stems` and `mix` are the clip part (from time 0) at
/// `rate_hz`, after the per-part gains and before effects.
pub fn stem_activity(stems: &[&[f32]], mix: &[f32], rate_hz: u32) -> Vec<[bool; FRAMES_PER_CLIP]> {
    let block = rate_hz as usize / BLOCKS_PER_S;
    let blocks = mix.len() / block;
    let mix_blocks = block_power(mix, block, blocks);
    let clip_db = db(mix_blocks.iter().sum::<f64>() / blocks.max(1) as f64);
    stems
        .iter()
        .map(|stem| {
            let power = block_power(stem, block, blocks);
            let audible: Vec<bool> = power
                .iter()
                .zip(&mix_blocks)
                .map(|(&p, &m)| db(p) > clip_db + FLOOR_DB && db(p) > db(m) + MASKED_DB)
                .collect();
            std::array::from_fn(|e| {
                let start = e * FRAME_HOP_BLOCKS;
                let end = (start + FRAME_BLOCKS).min(audible.len());
                audible
                    .get(start..end)
                    .is_some_and(|a| a.iter().filter(|&&x| x).count() >= MIN_AUDIBLE_BLOCKS)
            })
        })
        .collect()
}

/// Frame labels: a class is on in a frame when any of its stems is audible there.
pub fn frame_labels(labels: &[StemLabel], activity: &[[bool; FRAMES_PER_CLIP]]) -> FrameLabels {
    let mut out = [[false; NUM_CLASSES]; FRAMES_PER_CLIP];
    for (label, active) in labels.iter().zip(activity) {
        if let StemLabel::Class(class) = label {
            for (frame, &on) in out.iter_mut().zip(active) {
                frame[class.index()] |= on;
            }
        }
    }
    out
}

/// Clip labels: the classes on in any frame.
pub fn clip_labels(frames: &FrameLabels) -> [bool; NUM_CLASSES] {
    std::array::from_fn(|c| frames.iter().any(|f| f[c]))
}

/// The classes set in a label row.
pub fn classes(row: &[bool; NUM_CLASSES]) -> Vec<Instrument> {
    Instrument::ALL
        .into_iter()
        .filter(|c| row[c.index()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    fn tone(from_s: f64, to_s: f64, amp: f32) -> Vec<f32> {
        (0..160_000)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                if (from_s..to_s).contains(&t) {
                    amp * (t * 440.0 * std::f64::consts::TAU).sin() as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn on_frames(active: &[bool; FRAMES_PER_CLIP]) -> Vec<usize> {
        (0..FRAMES_PER_CLIP).filter(|&e| active[e]).collect()
    }

    #[test]
    fn a_part_playing_from_3_to_5_s_is_labelled_in_frames_3_to_5() {
        let part = tone(3.0, 5.0, 0.3);
        let bed = tone(0.0, 10.0, 0.3);
        let mix: Vec<f32> = part.iter().zip(&bed).map(|(a, b)| a + b).collect();
        let activity = stem_activity(&[&part, &bed], &mix, RATE);
        // Frame 3 = [2.88, 3.855) s, frame 5 = [4.80, 5.775) s; frame 2 ends at 2.895 s and frame 6 starts at 5.76 s.
        assert_eq!(on_frames(&activity[0]), vec![3, 4, 5]);
        assert_eq!(on_frames(&activity[1]), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn masked_and_silent_stems_are_not_labelled() {
        let loud = tone(0.0, 10.0, 0.5);
        let buried = tone(0.0, 10.0, 0.5 * 10f32.powf(-30.0 / 20.0));
        let tiny_blip = tone(2.0, 2.04, 0.5);
        let mix: Vec<f32> = loud
            .iter()
            .zip(&buried)
            .zip(&tiny_blip)
            .map(|((a, b), c)| a + b + c)
            .collect();
        let activity = stem_activity(&[&loud, &buried, &tiny_blip], &mix, RATE);
        assert!(activity[0].iter().all(|&x| x));
        assert!(
            activity[1].iter().all(|&x| !x),
            "30 dB under the mix is masked"
        );
        assert!(
            activity[2].iter().all(|&x| !x),
            "40 ms is shorter than three blocks"
        );
        let labels = [
            StemLabel::Class(Instrument::Piano),
            StemLabel::Class(Instrument::Flute),
            StemLabel::Negative,
        ];
        let frames = frame_labels(&labels, &activity);
        assert_eq!(classes(&clip_labels(&frames)), vec![Instrument::Piano]);
    }
}
