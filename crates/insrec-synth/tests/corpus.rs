//! Renders small corpora with TimGM6mb (`apt-get install timgm6mb-soundfont`) and checks the files,
//! determinism, resumption and error messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_synth::{CorpusArgs, Generator, Manifest, SourcePaths, Split, SynthCorpus, SynthError};
use insrec_testutil::timgm6mb;

fn args(clips: u64, seed: u64) -> CorpusArgs {
    CorpusArgs {
        sources: SourcePaths {
            soundfonts: vec![timgm6mb()],
            ..SourcePaths::default()
        },
        clips,
        seed,
        valid_fraction: 0.3,
        test_fraction: 0.0,
    }
}

/// Every file under `dir`, relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

#[test]
fn renders_a_readable_labelled_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let generator = Generator::new(args(6, 3), dir.path()).expect("generator");
    let summary = generator.run(2, &|| {}).expect("run");
    assert_eq!((summary.rendered, summary.skipped), (6, 0));
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);

    let corpus = SynthCorpus::open(dir.path()).expect("open corpus");
    assert_eq!(corpus.len(), 6);
    let mut labelled = 0;
    for i in 0..corpus.len() {
        let clip = &corpus.clips()[i];
        assert_eq!(clip.sources, "TimGM6mb");
        assert_ne!(
            clip.split,
            Split::Test,
            "no held-out sources, no test split"
        );
        let audio = corpus.read_audio(i).expect("read wav");
        assert_eq!(audio.len(), 160_000);
        let by_sample: Vec<f32> = hound::WavReader::open(corpus.wav_path(i))
            .expect("open wav")
            .samples::<i16>()
            .map(|s| f32::from(s.expect("sample")) / 32768.0)
            .collect();
        assert_eq!(audio, by_sample, "clip {i}: hound's samples");
        let rms = (audio.iter().map(|x| x * x).sum::<f32>() / audio.len() as f32).sqrt();
        assert!(
            rms > 1e-3 && audio.iter().all(|x| x.abs() <= 1.0),
            "clip {i}: rms {rms}"
        );
        // Clip labels are the union of the frame labels.
        let frames = corpus.frame_labels(i);
        assert_eq!(frames.len(), FRAMES_PER_CLIP);
        for c in 0..NUM_CLASSES {
            assert_eq!(
                clip.labels[c],
                frames.iter().any(|f| f[c]),
                "clip {i} class {c}"
            );
        }
        let record = corpus.record(i).expect("clip record");
        assert_eq!(record.id, clip.id);
        assert!(!record.parts.is_empty() && record.parts.len() <= 7);
        // Labelled classes come from the parts that were rendered.
        for label in &record.labels {
            assert!(
                record.parts.iter().any(|p| p.classes.contains(label)),
                "clip {i}: {label} without a part"
            );
        }
        labelled += usize::from(clip.labels.iter().any(|&x| x));
    }
    assert!(labelled >= 5, "most clips have at least one label");
    let manifest = Manifest::read(dir.path()).expect("manifest");
    assert_eq!(manifest.finished_clips, 6);
    let total: usize = manifest.statistics.iter().map(|(_, s)| s.clips).sum();
    assert_eq!(total, 6);
}

#[test]
fn same_arguments_give_identical_bytes_whatever_the_jobs_and_resume() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    Generator::new(args(5, 11), a.path())
        .expect("generator")
        .run(1, &|| {})
        .expect("run");
    let second = Generator::new(args(5, 11), b.path()).expect("generator");
    second.run(3, &|| {}).expect("run");
    let reference = snapshot(a.path());
    assert_eq!(reference.len(), 5 * 2 + 3);
    assert!(
        reference == snapshot(b.path()),
        "jobs must not change the corpus"
    );

    // Kill simulation: a clip lost its record (so it counts as unfinished) and a temp file is left.
    let clips = b.path().join("clips");
    std::fs::remove_file(clips.join("000002.json")).expect("remove record");
    std::fs::write(clips.join("000002.wav"), b"half a file").expect("truncate wav");
    std::fs::write(clips.join("000004.wav.tmp"), b"junk").expect("temp file");
    let resumed = Generator::new(args(5, 11), b.path()).expect("generator");
    assert_eq!(resumed.pending(), vec![2]);
    let summary = resumed.run(2, &|| {}).expect("resume");
    assert_eq!((summary.rendered, summary.skipped), (1, 4));
    assert!(
        reference == snapshot(b.path()),
        "resuming gives the same bytes and cleans temporary files"
    );

    // Different arguments in the same folder are refused.
    let err = Generator::new(args(5, 12), b.path()).expect_err("seed changed");
    assert!(
        matches!(err, SynthError::ArgumentsChanged { ref field, .. } if field == "--seed"),
        "{err}"
    );
}

#[test]
fn a_different_seed_gives_different_music() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    Generator::new(args(2, 1), a.path())
        .expect("generator")
        .run(2, &|| {})
        .expect("run");
    Generator::new(args(2, 2), b.path())
        .expect("generator")
        .run(2, &|| {})
        .expect("run");
    let wav = |d: &Path| std::fs::read(d.join("clips/000000.wav")).expect("wav");
    assert_ne!(wav(a.path()), wav(b.path()));
}

#[test]
fn bad_sources_and_outputs_are_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let with_font = |font: PathBuf| CorpusArgs {
        sources: SourcePaths {
            soundfonts: vec![font],
            ..SourcePaths::default()
        },
        ..args(2, 0)
    };

    let missing = dir.path().join("nope.sf2");
    let err = Generator::new(with_font(missing.clone()), &out).expect_err("missing font");
    assert!(err.to_string().contains("nope.sf2"), "{err}");

    let corrupt = dir.path().join("corrupt.sf2");
    std::fs::write(&corrupt, b"RIFF\x10\x00\x00\x00sfbkLIST garbage").expect("write");
    let err = Generator::new(with_font(corrupt), &out).expect_err("corrupt font");
    assert!(
        matches!(err, SynthError::BadSoundFont { .. }) && err.to_string().contains("corrupt.sf2"),
        "{err}"
    );

    let sf3 = dir.path().join("font.sf3");
    std::fs::write(&sf3, b"whatever").expect("write");
    let err = Generator::new(with_font(sf3), &out).expect_err("sf3");
    assert!(err.to_string().contains(".sf3"), "{err}");
    assert!(!out.exists(), "nothing is written when the sources are bad");

    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").expect("write");
    let err = Generator::new(args(2, 0), blocker.join("out")).expect_err("unwritable output");
    assert!(err.to_string().contains("a-file"), "{err}");

    let twice = CorpusArgs {
        sources: SourcePaths {
            soundfonts: vec![timgm6mb()],
            holdout_soundfonts: vec![timgm6mb()],
            ..SourcePaths::default()
        },
        test_fraction: 0.1,
        ..args(2, 0)
    };
    let err = Generator::new(twice, &out).expect_err("held-out font also in training");
    assert!(err.to_string().contains("twice"), "{err}");
}
