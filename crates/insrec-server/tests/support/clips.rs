//! Test clips: WAV files of plain tones.

use std::io::Cursor;

/// A 16-bit mono WAV of consecutive tones `(hz, seconds)` with a slow tremolo, at 16 kHz.
pub fn tone_wav(segments: &[(f64, f64)]) -> Vec<u8> {
    const RATE: u32 = 16_000;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).expect("wav header");
    let mut t = 0usize;
    for &(hz, seconds) in segments {
        for _ in 0..(seconds * f64::from(RATE)) as usize {
            let time = t as f64 / f64::from(RATE);
            let tremolo = 0.35 + 0.15 * (2.0 * std::f64::consts::PI * 0.2 * time).sin();
            let sample = tremolo * (2.0 * std::f64::consts::PI * hz * time).sin();
            writer
                .write_sample((sample * f64::from(i16::MAX)) as i16)
                .expect("wav sample");
            t += 1;
        }
    }
    writer.finalize().expect("wav finalize");
    cursor.into_inner()
}
