//! End-to-end tests on a real SoundFont: Debian's small `timgm6mb-soundfont` package.

use insrec_core::{Instrument, NUM_CLASSES};

use crate::compose::{PartSource, Score, ScorePart};
use crate::labels::{FrameLabels, clip_labels, frame_labels};
use crate::mix::{MixSettings, mix};
use crate::render::{Window, render_score};
use crate::rng::ClipRng;
use crate::song::{Meter, Note, Role, Song, Style};
use crate::sources::{Library, MelodicVoice, SourcePaths};
use crate::theory::{Chord, Key, Mode, Quality};
use crate::timbre::lookup;
use insrec_testutil::timgm6mb;

fn library() -> Library {
    Library::load(&SourcePaths {
        soundfonts: vec![timgm6mb()],
        ..SourcePaths::default()
    })
    .expect("load TimGM6mb")
}

fn voice(library: &Library, bank: u16, program: u8) -> MelodicVoice {
    let timbre = lookup(bank, program).expect("a corpus preset");
    assert!(
        library.train.melodic.iter().any(|v| v.timbre == timbre),
        "TimGM6mb has {}",
        timbre.name
    );
    MelodicVoice { font: 0, timbre }
}

fn part(source: MelodicVoice, role: Role, notes: Vec<Note>) -> ScorePart {
    ScorePart {
        source: PartSource::Melodic(source),
        role,
        notes,
        controls: Vec::new(),
        hits: Vec::new(),
        enter_s: f64::NEG_INFINITY,
        exit_s: f64::INFINITY,
    }
}

fn dry_settings(parts: usize, rate_hz: u32) -> MixSettings {
    MixSettings {
        render_rate_hz: rate_hz,
        part_level_db: vec![0.0; parts],
        part_pan: vec![0.0; parts],
        chorus: None,
        reverb: None,
        tilt_db: 0.0,
        highpass_hz: None,
        lowpass_hz: None,
        compressor: None,
        loudness_dbfs: -20.0,
        noise: None,
        clip_drive: None,
    }
}

fn render(score: &Score, settings: &MixSettings) -> (FrameLabels, Vec<f32>) {
    let library = library();
    let window = Window::new(settings.render_rate_hz, 0.0);
    let mut rng = ClipRng::for_clip(0, 0);
    let mut stems = render_score(score, &library, &window, &mut rng).expect("render");
    let mixed = mix(&mut stems, settings, &window, &mut rng).expect("mix");
    let labels: Vec<_> = stems.iter().map(|s| s.label).collect();
    (frame_labels(&labels, &mixed.activity), mixed.audio)
}

fn frames_of(frames: &FrameLabels, class: Instrument) -> Vec<usize> {
    (0..frames.len())
        .filter(|&e| frames[e][class.index()])
        .collect()
}

fn song() -> Song {
    Song {
        style: Style::Pop,
        tempo_bpm: 120.0,
        meter: Meter::Four,
        key: Key {
            tonic: 0,
            mode: Mode::Major,
        },
        chords: vec![
            Chord {
                root: 0,
                quality: Quality::Major
            };
            6
        ],
        start_s: 0.0,
        swing: 0.0,
    }
}

#[test]
fn a_trumpet_playing_from_3_to_5_s_is_labelled_only_in_frames_3_to_5() {
    let library = library();
    let trumpet = voice(&library, 0, 56);
    let organ = voice(&library, 0, 19);
    let melody = (0..4)
        .map(|i| Note {
            start_s: 3.0 + 0.5 * f64::from(i),
            end_s: 3.45 + 0.5 * f64::from(i) + if i == 3 { 0.05 } else { 0.0 },
            key: 67 + 2 * i as u8,
            velocity: 100,
        })
        .collect();
    let chord = [48, 55, 64]
        .into_iter()
        .map(|key| Note {
            start_s: 0.0,
            end_s: 10.0,
            key,
            velocity: 80,
        })
        .collect();
    let score = Score {
        song: song(),
        parts: vec![
            part(trumpet, Role::Melody, melody),
            part(organ, Role::Pad, chord),
        ],
    };
    for rate in [22_050, 44_100] {
        let (frames, audio) = render(&score, &dry_settings(2, rate));
        assert_eq!(audio.len(), 160_000);
        assert_eq!(
            frames_of(&frames, Instrument::Trumpet),
            vec![3, 4, 5],
            "at {rate} Hz"
        );
        assert_eq!(
            frames_of(&frames, Instrument::Organ),
            (0..10).collect::<Vec<_>>()
        );
        let others = (0..NUM_CLASSES)
            .filter(|&c| c != Instrument::Trumpet.index() && c != Instrument::Organ.index());
        assert!(others.clone().all(|c| frames.iter().all(|f| !f[c])));
        assert_eq!(
            crate::labels::classes(&clip_labels(&frames)),
            vec![Instrument::Organ, Instrument::Trumpet]
        );
    }
}

#[test]
fn distractors_are_rendered_but_never_labelled() {
    let library = library();
    let oboe = voice(&library, 0, 68);
    let notes = (0..16)
        .map(|i| Note {
            start_s: 0.6 * f64::from(i),
            end_s: 0.6 * f64::from(i) + 0.5,
            key: 72,
            velocity: 90,
        })
        .collect();
    let score = Score {
        song: song(),
        parts: vec![part(oboe, Role::Melody, notes)],
    };
    let (frames, audio) = render(&score, &dry_settings(1, 32_000));
    let level_db = 20.0 * crate::effects::rms(&audio).log10();
    assert!(
        (level_db + 20.0).abs() < 0.5,
        "the oboe is audible at the requested loudness: {level_db:.1} dBFS"
    );
    assert!(frames.iter().all(|f| f.iter().all(|&x| !x)));
}
