//! Mixing and augmentation. Each part is brought to a role-dependent level with a random offset
//! (so the SoundFont's own preset loudness does not matter), folded down from a random pan
//! position, and summed; the frame labels are judged on this dry mix. The mix is resampled to
//! 16 kHz and then gets random chorus, reverb, EQ tilt, high/low-pass, compression, loudness,
//! background noise and occasional clipping.

use serde::{Deserialize, Serialize};

use crate::effects::{
    Biquad, add_noise, chorus, compress, pan_fold_down, peak, reverb, rms, soft_clip,
    sum_of_squares,
};
use crate::labels::stem_activity;
use crate::render::{Stem, StemLabel, Window};
use crate::rng::ClipRng;
use crate::song::Role;
use crate::{Result, SynthError};
use insrec_core::{FRAMES_PER_CLIP, SAMPLE_RATE_HZ};

/// Render sample rates and their probabilities (varied so that models cannot learn one
/// synthesizer's aliasing and filter fingerprint).
const RENDER_RATES_HZ: [(u32, f64); 6] = [
    (16_000, 0.1),
    (22_050, 0.2),
    (24_000, 0.15),
    (32_000, 0.25),
    (44_100, 0.2),
    (48_000, 0.1),
];
/// Highest sample value after the final gain unless clipping is applied.
const PEAK_LIMIT: f32 = 0.99;

/// Reverb parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReverbSettings {
    pub room: f64,
    pub damp: f64,
    pub wet: f64,
}

/// Chorus parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChorusSettings {
    pub delay_ms: f64,
    pub depth_ms: f64,
    pub rate_hz: f64,
    pub mix: f64,
}

/// Compressor parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompressorSettings {
    /// Threshold relative to the RMS level of the mix.
    pub threshold_db: f64,
    pub ratio: f64,
}

/// Background-noise parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseSettings {
    /// Signal-to-noise ratio of the clip.
    pub snr_db: f64,
    pub pink: bool,
}

/// Every random choice of the mix, stored with the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixSettings {
    pub render_rate_hz: u32,
    /// Level of each part relative to the others (after normalising its own loudness).
    pub part_level_db: Vec<f64>,
    /// Pan of each part, −1 (left) … 1 (right), folded down to mono.
    pub part_pan: Vec<f64>,
    pub chorus: Option<ChorusSettings>,
    pub reverb: Option<ReverbSettings>,
    /// High-shelf gain above 1 kHz.
    pub tilt_db: f64,
    pub highpass_hz: Option<f64>,
    pub lowpass_hz: Option<f64>,
    pub compressor: Option<CompressorSettings>,
    /// RMS level of the finished clip.
    pub loudness_dbfs: f64,
    pub noise: Option<NoiseSettings>,
    /// `tanh` drive when the clip is deliberately clipped.
    pub clip_drive: Option<f64>,
}

fn role_level_db(role: Role) -> f64 {
    match role {
        Role::Melody | Role::Drums => 0.0,
        Role::Bass | Role::Stabs => -2.0,
        Role::CounterMelody | Role::Comp | Role::Strum => -3.0,
        Role::Arpeggio => -4.0,
        Role::Pad => -6.0,
    }
}

impl MixSettings {
    /// Draws the mix of a clip whose parts play `roles`.
    pub fn draw(roles: &[Role], rng: &mut ClipRng) -> Self {
        let weights: Vec<f64> = RENDER_RATES_HZ.iter().map(|r| r.1).collect();
        let render_rate_hz = RENDER_RATES_HZ[rng.weighted(&weights).unwrap_or(0)].0;
        let part_level_db = roles
            .iter()
            .map(|&r| role_level_db(r) + rng.range(-4.0, 4.0))
            .collect();
        let part_pan = roles
            .iter()
            .map(|&r| {
                if matches!(r, Role::Bass | Role::Drums) {
                    rng.range(-0.2, 0.2)
                } else {
                    rng.range(-0.8, 0.8)
                }
            })
            .collect();
        let chorus = rng.chance(0.25).then(|| ChorusSettings {
            delay_ms: rng.range(12.0, 25.0),
            depth_ms: rng.range(1.0, 4.0),
            rate_hz: rng.range(0.2, 1.5),
            mix: rng.range(0.2, 0.6),
        });
        let reverb = rng.chance(0.75).then(|| ReverbSettings {
            room: rng.range(0.2, 0.95),
            damp: rng.range(0.1, 0.7),
            wet: rng.range(0.05, 0.4),
        });
        let tilt_db = rng.range(-6.0, 6.0);
        let highpass_hz = rng.chance(0.2).then(|| rng.range(60.0, 250.0));
        let lowpass_hz = rng.chance(0.2).then(|| rng.range(2_500.0, 7_000.0));
        let compressor = rng.chance(0.25).then(|| CompressorSettings {
            threshold_db: rng.range(-12.0, 3.0),
            ratio: rng.range(2.0, 8.0),
        });
        let loudness_dbfs = rng.range(-32.0, -14.0);
        let noise = rng.chance(0.5).then(|| NoiseSettings {
            snr_db: rng.range(20.0, 50.0),
            pink: rng.chance(0.5),
        });
        let clip_drive = rng.chance(0.08).then(|| rng.range(1.5, 4.0));
        Self {
            render_rate_hz,
            part_level_db,
            part_pan,
            chorus,
            reverb,
            tilt_db,
            highpass_hz,
            lowpass_hz,
            compressor,
            loudness_dbfs,
            noise,
            clip_drive,
        }
    }
}

/// A finished clip: 16 kHz audio and, per stem, the frames in which it is audible.
#[derive(Debug, Clone)]
pub struct MixedClip {
    pub audio: Vec<f32>,
    pub activity: Vec<[bool; FRAMES_PER_CLIP]>,
}

/// RMS over the blocks within 30 dB of the loudest block: the level while the part plays.
fn active_rms(x: &[f32], block: usize) -> f64 {
    let powers: Vec<f64> = x
        .chunks(block)
        .map(|c| sum_of_squares(c) / c.len() as f64)
        .collect();
    let max = powers.iter().copied().fold(0.0, f64::max);
    let active: Vec<f64> = powers.into_iter().filter(|&p| p > max * 1e-3).collect();
    (active.iter().sum::<f64>() / active.len().max(1) as f64).sqrt()
}

/// Mixes the stems of a clip (rendered in `window`) and applies the augmentations.
pub fn mix(
    stems: &mut [Stem],
    settings: &MixSettings,
    window: &Window,
    rng: &mut ClipRng,
) -> Result<MixedClip> {
    let block = window.rate_hz as usize / 50;
    let parts = settings.part_level_db.len();
    // Per-part level: normalise the part (all its stems together), then apply level and pan.
    for part in 0..parts {
        let members: Vec<&Stem> = stems.iter().filter(|s| s.part == part).collect();
        let level = match members.as_slice() {
            [] => continue,
            [only] => active_rms(&only.samples[window.preroll..], block),
            many => {
                let mut sum = vec![0.0f32; window.len];
                for stem in many {
                    sum.iter_mut().zip(&stem.samples).for_each(|(a, b)| *a += b);
                }
                active_rms(&sum[window.preroll..], block)
            }
        };
        if level <= 0.0 {
            continue;
        }
        let target = 0.1
            * 10f64.powf(settings.part_level_db[part] / 20.0)
            * pan_fold_down(settings.part_pan[part]);
        let gain = (target / level) as f32;
        for stem in stems.iter_mut().filter(|s| s.part == part) {
            // Within a kit, cymbals and auxiliary percussion move a little against the drums.
            let offset_db = match stem.label {
                StemLabel::Class(insrec_core::Instrument::Drums) => 0.0,
                _ => rng.range(-4.0, 2.0),
            };
            let g = gain * 10f32.powf(offset_db as f32 / 20.0);
            stem.samples.iter_mut().for_each(|s| *s *= g);
        }
    }
    let mut dry = vec![0.0f32; window.len];
    for stem in stems.iter() {
        dry.iter_mut().zip(&stem.samples).for_each(|(a, b)| *a += b);
    }
    let clip_stems: Vec<&[f32]> = stems.iter().map(|s| &s.samples[window.preroll..]).collect();
    let activity = stem_activity(&clip_stems, &dry[window.preroll..], window.rate_hz);

    let mut audio = if window.rate_hz == SAMPLE_RATE_HZ {
        dry
    } else {
        insrec_audio::resample_to_16k(&dry, window.rate_hz).map_err(SynthError::Resample)?
    };
    let rate = f64::from(SAMPLE_RATE_HZ);
    if let Some(c) = settings.chorus {
        chorus(
            &mut audio,
            rate,
            c.delay_ms / 1000.0,
            c.depth_ms / 1000.0,
            c.rate_hz,
            c.mix,
        );
    }
    if let Some(r) = settings.reverb {
        reverb(&mut audio, rate, r.room, r.damp, r.wet);
    }
    Biquad::high_shelf(rate, 1_000.0, settings.tilt_db).process(&mut audio);
    if let Some(hz) = settings.highpass_hz {
        Biquad::highpass(rate, hz).process(&mut audio);
    }
    if let Some(hz) = settings.lowpass_hz {
        Biquad::lowpass(rate, hz).process(&mut audio);
    }
    if let Some(c) = settings.compressor {
        let level_db = 20.0 * rms(&audio).max(1e-9).log10();
        compress(&mut audio, rate, level_db + c.threshold_db, c.ratio);
    }
    let preroll = window.preroll * SAMPLE_RATE_HZ as usize / window.rate_hz as usize;
    let mut audio = audio.split_off(preroll.min(audio.len()));
    audio.resize((crate::song::CLIP_SECONDS * rate) as usize, 0.0);
    let level = rms(&audio);
    if level > 0.0 {
        let gain = (10f64.powf(settings.loudness_dbfs / 20.0) / level) as f32;
        audio.iter_mut().for_each(|s| *s *= gain);
    }
    if let Some(n) = settings.noise {
        let signal = rms(&audio).max(1e-6);
        add_noise(
            &mut audio,
            signal * 10f64.powf(-n.snr_db / 20.0),
            n.pink,
            rng,
        );
    }
    match settings.clip_drive {
        Some(drive) => {
            // Push the mix into saturation: its peak goes to `drive` before the tanh.
            let p = peak(&audio).max(1e-9);
            audio.iter_mut().for_each(|s| *s /= p);
            soft_clip(&mut audio, drive);
            let g = 10f64.powf(settings.loudness_dbfs / 20.0) / rms(&audio).max(1e-9);
            let g = g.min(f64::from(PEAK_LIMIT) / f64::from(peak(&audio).max(1e-9))) as f32;
            audio.iter_mut().for_each(|s| *s *= g);
        }
        None => {
            let p = peak(&audio);
            if p > PEAK_LIMIT {
                let g = PEAK_LIMIT / p;
                audio.iter_mut().for_each(|s| *s *= g);
            }
        }
    }
    Ok(MixedClip { audio, activity })
}
