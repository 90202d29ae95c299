//! Building blocks shared by several models (PyOmniTS `layers/`), named after the originals.

pub mod attention;
pub mod decomp;
pub mod embed;
pub mod encoder;
pub mod fourier;
pub mod head;
pub mod norm;
pub mod ops;
