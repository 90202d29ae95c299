//! The common dataset interface and two generic implementations: an in-memory feature table and a
//! row subset (a split side).

use std::path::Path;

use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};

use crate::error::{Error, Result};
use crate::labels::Labels;

/// Feature values per clip: `[FRAMES_PER_CLIP, EMBEDDING_DIM]` = `[10, 128]`, row-major.
pub const CLIP_FEATURES: usize = FRAMES_PER_CLIP * EMBEDDING_DIM;

/// The element range of row `row` in a row-major table `width` wide (`None` on overflow).
pub(crate) fn row_span(row: usize, width: usize) -> Option<std::ops::Range<usize>> {
    let start = row.checked_mul(width)?;
    Some(start..start.checked_add(width)?)
}

/// What a model sees of one clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input<'a> {
    /// Embedding frames `[10, 128]`, row-major ([`CLIP_FEATURES`] values).
    Features(&'a [f32]),
    /// An audio file whose features are still to be computed.
    Audio(&'a Path),
}

/// One clip: its key, input and labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item<'a> {
    pub key: &'a str,
    pub input: Input<'a>,
    pub labels: Labels,
}

/// A finite, indexable collection of labelled clips.
pub trait Dataset {
    /// Human-readable name for logs and errors, e.g. the source path.
    fn name(&self) -> String;

    /// Number of clips.
    fn len(&self) -> usize;

    /// The clip at `index`, `None` past the end.
    fn get(&self, index: usize) -> Option<Item<'_>>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Clips held in memory as `[N, 10, 128]` features with labels (e.g. cached embeddings of a folder).
#[derive(Debug, Clone)]
pub struct FeatureSet {
    name: String,
    keys: Vec<String>,
    features: Vec<f32>,
    labels: Vec<Labels>,
}

impl FeatureSet {
    /// Checks that there is one label row and [`CLIP_FEATURES`] values per key.
    pub fn new(
        name: impl Into<String>,
        keys: Vec<String>,
        features: Vec<f32>,
        labels: Vec<Labels>,
    ) -> Result<Self> {
        let name = name.into();
        if labels.len() != keys.len() {
            return Err(Error::LabelCount {
                dataset: name,
                keys: keys.len(),
                labels: labels.len(),
            });
        }
        let expected = keys.len() * CLIP_FEATURES;
        if features.len() != expected {
            return Err(Error::FeatureLength {
                dataset: name,
                clips: keys.len(),
                found: features.len(),
                expected,
            });
        }
        Ok(Self {
            name,
            keys,
            features,
            labels,
        })
    }
}

impl Dataset for FeatureSet {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, index: usize) -> Option<Item<'_>> {
        let features = self.features.get(row_span(index, CLIP_FEATURES)?)?;
        Some(Item {
            key: self.keys.get(index)?,
            input: Input::Features(features),
            labels: *self.labels.get(index)?,
        })
    }
}

/// A view of some rows of another dataset, in the given order (one side of a split).
#[derive(Debug, Clone)]
pub struct Subset<'a, D: ?Sized> {
    dataset: &'a D,
    rows: Vec<usize>,
}

impl<'a, D: Dataset + ?Sized> Subset<'a, D> {
    /// Fails when a row is out of range.
    pub fn new(dataset: &'a D, rows: Vec<usize>) -> Result<Self> {
        let len = dataset.len();
        if let Some(&row) = rows.iter().find(|&&row| row >= len) {
            return Err(Error::RowOutOfRange {
                dataset: dataset.name(),
                row,
                len,
            });
        }
        Ok(Self { dataset, rows })
    }

    /// Row indices into the underlying dataset.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }
}

impl<D: Dataset + ?Sized> Dataset for Subset<'_, D> {
    fn name(&self) -> String {
        format!("{} ({} rows)", self.dataset.name(), self.rows.len())
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn get(&self, index: usize) -> Option<Item<'_>> {
        self.dataset.get(*self.rows.get(index)?)
    }
}

#[cfg(test)]
mod tests {
    use insrec_core::NUM_CLASSES;

    use super::*;

    fn set(clips: usize) -> Result<FeatureSet> {
        let keys = (0..clips).map(|i| format!("clip{i}")).collect();
        let features = (0..clips * CLIP_FEATURES).map(|v| v as f32).collect();
        let labels = vec![
            Labels {
                relevance: [1.0; NUM_CLASSES],
                mask: [true; NUM_CLASSES]
            };
            clips
        ];
        FeatureSet::new("test", keys, features, labels)
    }

    #[test]
    fn feature_set_items_slice_their_own_frames() -> Result<()> {
        let set = set(3)?;
        let Some(Item {
            key,
            input: Input::Features(f),
            ..
        }) = set.get(2)
        else {
            panic!("features expected")
        };
        assert_eq!(
            (key, f.len(), f[0]),
            ("clip2", CLIP_FEATURES, (2 * CLIP_FEATURES) as f32)
        );
        assert!(set.get(3).is_none());
        Ok(())
    }

    #[test]
    fn feature_set_rejects_mismatched_lengths() -> Result<()> {
        let good = set(2)?;
        let bad = FeatureSet::new(
            "x",
            good.keys.clone(),
            good.features[1..].to_vec(),
            good.labels.clone(),
        );
        assert!(matches!(bad, Err(Error::FeatureLength { .. })));
        let bad = FeatureSet::new(
            "x",
            good.keys.clone(),
            good.features.clone(),
            good.labels[1..].to_vec(),
        );
        assert!(matches!(bad, Err(Error::LabelCount { .. })));
        Ok(())
    }

    #[test]
    fn subset_maps_rows_and_checks_range() -> Result<()> {
        let set = set(4)?;
        let sub = Subset::new(&set, vec![3, 1])?;
        assert_eq!(sub.len(), 2);
        assert_eq!(sub.get(0).map(|i| i.key), Some("clip3"));
        assert!(sub.get(2).is_none());
        assert!(matches!(
            Subset::new(&set, vec![4]),
            Err(Error::RowOutOfRange { row: 4, len: 4, .. })
        ));
        Ok(())
    }
}
