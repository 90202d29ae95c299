//! Compute and size of a [`CompactConfig`], counted layer by layer (multiply-adds × 2).

use insrec_core::NUM_CLASSES;
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};

use super::head::HeadKind;
use super::model::CompactConfig;

/// Most floating-point operations allowed per 0.96 s frame (encoder + head).
pub const MAX_FLOPS_PER_FRAME: u64 = 30_000_000;
/// Most parameters allowed.
pub const MAX_PARAMS: usize = 5_000_000;

/// Examples encoded per 0.96 s of audio: the frame and its half-frame view (the recognizer's
/// `half_frame_view`).
pub const VIEWS_PER_FRAME: u64 = 2;

/// Floating-point operations per 0.96 s of audio as `insrec analyze` runs the model: each of the
/// [`VIEWS_PER_FRAME`] examples through the encoder and the head, preset view included (2 per
/// multiply-add; normalisation and activations are left out, they are a few percent).
pub fn flops_per_frame(config: &CompactConfig) -> u64 {
    let enc = &config.encoder;
    let (mut h, mut w) = (
        (EXAMPLE_FRAMES / enc.time_pool.max(1)).div_ceil(2),
        MEL_BANDS.div_ceil(2),
    );
    let mut macs = (h * w * enc.stem_channels * 9) as u64;
    let mut channels = enc.stem_channels;
    for block in &enc.blocks {
        h = h.div_ceil(block.stride);
        w = w.div_ceil(block.stride);
        let spatial_out = if enc.separable {
            channels
        } else {
            block.channels
        };
        let groups = if enc.separable { channels } else { 1 };
        macs += (h * w * spatial_out * 9 * channels / groups) as u64;
        if let Some(hidden) = spatial_out.checked_div(enc.se_ratio) {
            macs += (2 * spatial_out * hidden.max(4)) as u64;
        }
        if enc.separable {
            macs += (h * w * channels * block.channels) as u64;
        }
        channels = block.channels;
    }
    macs += (enc.pooled_width() * enc.embedding_dim) as u64;
    let head = &config.head;
    let (d, hid) = (head.input_dim, head.hidden);
    macs += match head.kind {
        HeadKind::Mlp => d * hid,
        HeadKind::Tcn => 3 * d * hid + 3 * hid * hid + hid * hid,
        HeadKind::BiGru => {
            let g = hid / 2;
            2 * 3 * (d * g + g * g) + 2 * g * hid
        }
    } as u64;
    macs += (hid * NUM_CLASSES) as u64;
    if let Some(view) = &head.presets {
        macs += (d * view.names.len()) as u64;
    }
    2 * macs * VIEWS_PER_FRAME
}
