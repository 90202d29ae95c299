//! VGGish (`shared/reference/vggish.md`): the network, its standard weight files and the
//! post-processor that turns embeddings into OpenMIC-2018-style features.
//!
//! ```text
//! examples [n, 96, 64] -> Vggish (6 conv, 4 pool, fc 12288 -> 4096 -> 4096 -> 128, ReLU)
//!   -> embedding [n, 128] -> Pca: E (e - mu), clip +-2, quantise -> [n, 128] in 0..=255
//! ```

mod encoder;
mod error;
mod fast;
mod network;
mod pca;
mod pickle;
mod tensor_file;
mod weights;

pub use encoder::{FeatureScale, VggishEncoder, VggishOutput};
pub use error::{Result, TensorProblem, VggishError};
pub use fast::FastVggish;
pub use network::{EMBEDDING_DIM, FLAT_DIM, Vggish, VggishConfig};
pub use pca::{PCA_EIGEN_VECTORS, PCA_MEANS, Pca, Rounding, quantize_value};
pub use weights::{LoadedVggish, Naming, load_vggish};
