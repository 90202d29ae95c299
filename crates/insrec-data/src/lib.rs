//! Datasets for training and evaluating InsRec classifiers.
//!
//! - [`OpenMic`]: OpenMIC-2018 in its release layout (npz with int64 `X`, float `Y_true`, bool
//!   `Y_mask`, pickled or `<U15` `sample_key`; `split01` partitions; `class-map.json`), optionally
//!   with the seed's `x_repr_times.npy` features.
//! - [`LabelledFolder`]: the user's audio files with a CSV of the 20 class columns.
//! - [`FeatureSet`]: clips with precomputed features (e.g. a folder after feature extraction).
//!
//! All implement [`Dataset`]; [`Splits`] divides them and [`Labels`] gives both target conventions
//! (official masked binary targets, the seed's argmax class).

#![forbid(unsafe_code)]

mod dataset;
mod error;
mod folder;
mod labels;
pub mod npy;
mod npz;
mod openmic;
pub mod pickle;
pub mod split;

pub use dataset::{CLIP_FEATURES, Dataset, FeatureSet, Input, Item, Subset};
pub use error::{Error, FormatError, PickleError, Result};
pub use folder::{LABELS_FILE, LabelledFolder};
pub use labels::{Labels, POSITIVE_RELEVANCE};
pub use openmic::{
    CLASS_MAP_FILE, FeatureScale, FeatureSource, METADATA_FILE, NPZ_FILE, OpenMic, OpenMicOptions,
    Partition, REPR_TIMES_FILE,
};
pub use split::{DEFAULT_VAL_FRACTION, SplitRule, Splits};
