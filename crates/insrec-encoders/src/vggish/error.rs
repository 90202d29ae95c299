//! Errors of the VGGish encoder.

use std::fmt;
use std::path::PathBuf;

/// What went wrong while loading or running VGGish.
#[derive(Debug, thiserror::Error)]
pub enum VggishError {
    /// A file that could not be read.
    #[error("vggish: cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that is not a readable PyTorch, safetensors or NumPy container.
    #[error("vggish: {path} is not a readable weight file: {reason}")]
    Format { path: PathBuf, reason: String },
    /// Tensor names that match neither torchvggish's nor torchaudio's state dict.
    #[error(
        "vggish: {path} does not use a known naming (torchvggish `features.0.weight` … \
         `embeddings.4.bias`, or torchaudio `features_network.0.weight` … \
         `embedding_network.4.bias`); its first tensors are: {}",
        found.join(", ")
    )]
    UnknownNaming { path: PathBuf, found: Vec<String> },
    /// Tensors missing, mis-shaped or unexpected in a weight file.
    #[error(
        "vggish: {path} ({naming} naming) does not fit the network:\n{}",
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    WeightMismatch {
        path: PathBuf,
        naming: &'static str,
        problems: Vec<TensorProblem>,
    },
    /// A tensor stored in an element type the loader does not convert.
    #[error("vggish: {path}: tensor {tensor} has unsupported element type {dtype}")]
    UnsupportedDtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },
    /// A PCA file without both `pca_eigen_vectors` [128, 128] and `pca_means` [128].
    #[error("vggish: {path} holds no PCA parameters: {reason}")]
    BadPca { path: PathBuf, reason: String },
    /// Quantised features asked for without PCA parameters.
    #[error(
        "vggish: quantised features need the PCA parameters \
         (torchvggish's vggish_pca_params-970ea276.pth or TensorFlow's vggish_pca_params.npz)"
    )]
    MissingPca,
    /// Input with the wrong shape.
    #[error("vggish: {len} input values are not whole [96, 64] examples")]
    BadInput { len: usize },
    /// A tensor the backend could not hand back as f32 values.
    #[error("vggish: tensor backend: {0}")]
    Backend(String),
    /// A worker thread that panicked.
    #[error("vggish: a worker thread panicked")]
    WorkerPanicked,
}

/// One problem with one tensor of a weight file, named as the file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorProblem {
    Missing {
        tensor: String,
        shape: Vec<usize>,
    },
    WrongShape {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    Unexpected {
        tensor: String,
    },
}

impl fmt::Display for TensorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { tensor, shape } => write!(f, "missing tensor {tensor} {shape:?}"),
            Self::WrongShape {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor {tensor} has shape {found:?}, expected {expected:?}"
            ),
            Self::Unexpected { tensor } => write!(f, "unexpected tensor {tensor}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, VggishError>;
