//! Grouping per-frame rows (embeddings or examples) into the 10-frame clips classifiers consume.

use insrec_core::FRAMES_PER_CLIP;

/// Ten consecutive rows, zero-padded at a short tail, with a mask saying which rows are real.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Index of the clip's first row in the whole sequence.
    pub first_frame: usize,
    /// `[10, row_len]` row-major.
    pub data: Vec<f32>,
    /// 1.0 for real rows, 0.0 for padding.
    pub mask: [f32; FRAMES_PER_CLIP],
}

impl Clip {
    /// Number of real (unpadded) rows.
    pub fn real_frames(&self) -> usize {
        self.mask.iter().filter(|&&m| m > 0.0).count()
    }
}

/// Splits `rows` (`[n, row_len]` row-major) into clips of 10 rows; the last one is padded and masked.
pub fn clips(rows: &[f32], row_len: usize) -> Vec<Clip> {
    if row_len == 0 {
        return Vec::new();
    }
    rows.chunks(row_len * FRAMES_PER_CLIP)
        .enumerate()
        .map(|(i, chunk)| {
            let real = chunk.len() / row_len;
            let mut data = chunk.to_vec();
            data.resize(row_len * FRAMES_PER_CLIP, 0.0);
            let mut mask = [0.0; FRAMES_PER_CLIP];
            mask[..real].fill(1.0);
            Clip {
                first_frame: i * FRAMES_PER_CLIP,
                data,
                mask,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_masks_the_tail() {
        let rows: Vec<f32> = (0..23 * 2).map(|v| v as f32 + 1.0).collect();
        let clips = clips(&rows, 2);
        assert_eq!(clips.len(), 3);
        assert_eq!(clips[1].first_frame, 10);
        assert_eq!(clips[1].data[0], 21.0);
        assert_eq!(clips[2].real_frames(), 3);
        assert_eq!(
            clips[2].mask,
            [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(&clips[2].data[..6], &[41.0, 42.0, 43.0, 44.0, 45.0, 46.0]);
        assert!(clips[2].data[6..].iter().all(|&v| v == 0.0));
        assert!(super::clips(&[], 2).is_empty());
    }
}
