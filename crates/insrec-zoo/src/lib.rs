//! InsRec's sequence classifiers: the 27 PyOmniTS backbones, each mapping a clip of 10
//! embedding frames `[B, 10, 128]` (plus an optional `[B, 10]` observation mask) to 20 logits.
//!
//! ```no_run
//! use insrec_zoo::{ModelKind, SequenceInput};
//! use burn::tensor::{Device, Tensor};
//! # fn main() -> insrec_zoo::Result<()> {
//! let device = Device::flex();
//! let config = ModelKind::from_name("Transformer")?.production_config().with_overrides(&["d_model=256"])?;
//! let model = config.load_pytorch("pytorch_model.bin".as_ref(), &device)?;
//! let input = SequenceInput::new(Tensor::zeros([4, 10, 128], &device))?;
//! let logits = model.forward(&input); // [4, 20]
//! # Ok(()) }
//! ```

pub mod config;
mod error;
pub mod layers;
mod model;
pub mod models;
mod registry;
pub mod weights;

pub use config::ZooConfig;
pub use error::{Result, ZooError};
pub use model::{SequenceInput, ZooModel};
pub use registry::{Classifier, ClassifierConfig, ModelKind};
