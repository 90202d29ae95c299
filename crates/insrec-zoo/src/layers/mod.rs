//! Building blocks shared by several models (PyOmniTS `layers/`), named after the originals.

pub mod attention;
pub mod autoformer;
pub mod decomp;
pub mod embed;
pub mod encoder;
pub mod fourier;
pub mod gru;
pub mod head;
pub mod mlp;
pub mod norm;
pub mod ops;
pub mod random;
pub mod time_attention;
