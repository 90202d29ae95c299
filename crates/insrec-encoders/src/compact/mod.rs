//! InsRec's compact model: a small log-mel encoder (stride-2 stem, strided 3×3 convolution blocks
//! with squeeze-excitation, ≈20 MFLOPs per 0.96 s frame) and a frame-level head with temporal
//! context, trained together on the synthesized corpus.

mod budget;
mod conv;
mod encoder;
mod file;
mod head;
mod model;
mod norm;
mod presets;
mod recognizer;

pub use budget::{MAX_FLOPS_PER_FRAME, MAX_PARAMS, VIEWS_PER_FRAME, flops_per_frame};
pub use encoder::{
    BlockSpec, CompactEncoder, CompactEncoderConfig, ConvBlock, Pooling, SqueezeExcitation,
};
pub use file::{
    FORMAT, MODEL_JSON, ModelDescription, WEIGHTS_BPK, load_model, read_dir, write_dir,
};
pub use head::{FrameHead, FrameHeadConfig, HeadKind, TemporalConvs};
pub use model::{CompactConfig, CompactModel};
pub use presets::{PresetBlend, PresetView, PresetViewConfig};
pub use recognizer::recognizer;
