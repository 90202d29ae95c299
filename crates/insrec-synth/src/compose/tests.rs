use std::collections::BTreeMap;

use super::*;
use crate::sources::KitVoice;
use crate::timbre::TIMBRES;

/// A palette with every preset of the table and two kits (one full, one without cymbals).
fn full_palette() -> (Palette, Vec<Kit>) {
    let melodic = TIMBRES
        .iter()
        .map(|timbre| MelodicVoice { font: 0, timbre })
        .collect();
    let kit = |pieces: &[KitPiece]| Kit {
        name: "test".into(),
        voice: KitVoice::Font {
            font: 0,
            bank: 128,
            program: 0,
        },
        pieces: pieces
            .iter()
            .map(|&p| (p, vec![u16::from(p.gm_keys()[0])]))
            .collect::<BTreeMap<_, _>>(),
    };
    let kits = vec![
        kit(&KitPiece::ALL),
        kit(&[KitPiece::Kick, KitPiece::Snare, KitPiece::TomLow]),
    ];
    (
        Palette {
            melodic,
            kits: vec![0, 1],
        },
        kits,
    )
}

/// Classes a score intends to be heard (before energy-based labelling).
fn planned_classes(score: &Score, kits: &[Kit]) -> Vec<Instrument> {
    let mut out: Vec<Instrument> = score
        .parts
        .iter()
        .flat_map(|p| match p.source {
            PartSource::Melodic(v) => v.timbre.class().into_iter().collect::<Vec<_>>(),
            PartSource::Kit(k) => p
                .hits
                .iter()
                .filter_map(|h| kits[k].resolve(h.piece).and_then(KitPiece::class))
                .collect(),
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn classes_are_balanced_within_30_percent_of_the_mean() {
    let (palette, kits) = full_palette();
    let mut counts = [0usize; 20];
    let clips = 3000;
    for i in 0..clips {
        let score = compose(&palette, &kits, &mut ClipRng::for_clip(11, i)).expect("a score");
        for c in planned_classes(&score, &kits) {
            counts[c.index()] += 1;
        }
    }
    let mean = counts.iter().sum::<usize>() as f64 / 20.0;
    for c in Instrument::ALL {
        let n = counts[c.index()] as f64;
        assert!(
            (n / mean - 1.0).abs() <= 0.3,
            "{c}: {n} clips vs mean {mean:.0} ({counts:?})"
        );
    }
}

#[test]
fn scores_are_musically_sane() {
    let (palette, kits) = full_palette();
    let mut negatives = 0;
    for i in 0..400 {
        let score = compose(&palette, &kits, &mut ClipRng::for_clip(5, i)).expect("a score");
        let labelled = score.parts.iter().filter(|p| match p.source {
            PartSource::Melodic(v) => v.timbre.class().is_some(),
            PartSource::Kit(_) => true,
        });
        assert!(labelled.count() <= 5);
        assert!(score.parts.iter().filter(|p| p.role == Role::Bass).count() <= 1);
        assert!(
            score
                .parts
                .iter()
                .any(|p| p.enter_s < 0.0 && p.exit_s > CLIP_SECONDS),
            "one part plays throughout"
        );
        let song = &score.song;
        assert!((40.0..=200.0).contains(&song.tempo_bpm) && song.start_s <= 0.0);
        for part in &score.parts {
            for n in &part.notes {
                assert!(n.end_s > n.start_s && n.velocity >= 1 && n.velocity <= 127);
                assert!(
                    n.start_s >= part.enter_s - 1e-9
                        && n.start_s < part.exit_s
                        && n.start_s < CLIP_SECONDS
                );
                if let PartSource::Melodic(v) = part.source {
                    // Banjo rolls use the drone string above the chord shapes; everything else stays in range.
                    let (lo, hi) = (v.timbre.low, v.timbre.high.max(67));
                    assert!(
                        (lo..=hi).contains(&n.key),
                        "{} plays {} as {:?}",
                        v.timbre.name,
                        n.key,
                        part.role
                    );
                }
            }
            // No two notes of the same key overlap.
            let mut by_key: BTreeMap<u8, Vec<&Note>> = BTreeMap::new();
            part.notes
                .iter()
                .for_each(|n| by_key.entry(n.key).or_default().push(n));
            for notes in by_key.values() {
                assert!(notes.windows(2).all(|w| w[0].end_s <= w[1].start_s + 1e-9));
            }
        }
        if planned_classes(&score, &kits).is_empty() {
            negatives += 1;
        }
    }
    assert!(
        negatives > 0 && negatives < 40,
        "{negatives} all-negative clips"
    );
}

#[test]
fn composing_is_deterministic() {
    let (palette, kits) = full_palette();
    let a = compose(&palette, &kits, &mut ClipRng::for_clip(9, 77)).expect("a score");
    let b = compose(&palette, &kits, &mut ClipRng::for_clip(9, 77)).expect("a score");
    assert_eq!(a.song, b.song);
    assert_eq!(a.parts.len(), b.parts.len());
    for (x, y) in a.parts.iter().zip(&b.parts) {
        assert_eq!(x.notes, y.notes);
        assert_eq!(x.hits, y.hits);
    }
}
