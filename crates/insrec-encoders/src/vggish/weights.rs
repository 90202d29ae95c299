//! Strict loading of VGGish weights from torchvggish (`vggish-10086976.pth`) or torchaudio
//! (`VGGISH`) state dicts, as `.pth` or safetensors (`shared/reference/vggish.md` §9).
//!
//! Every network tensor must be present with the torch shape (`[out, in, kh, kw]` convolutions,
//! `[out, in]` linear layers, `fc1_1` input in TensorFlow's NHWC order) and no other tensor may be
//! present, except torchvggish's post-processor parameters (`pproc.pca_eigen_vectors`,
//! `pproc.pca_means`, or `pca_eigen_vectors`/`pca_means` at the top), which are returned as a
//! [`Pca`]. Errors name tensors as the file names them.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use super::error::{Result, TensorProblem, VggishError};
use super::network::{EMBEDDING_DIM, FLAT_DIM, Vggish, VggishConfig};
use super::pca::{PCA_EIGEN_VECTORS, PCA_MEANS, Pca};
use super::tensor_file::TensorFile;

/// The state-dict naming of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// harritaylor/torchvggish: `features.{0,3,6,8,11,13}`, `embeddings.{0,2,4}`.
    TorchVggish,
    /// torchaudio's `VGGISH` bundle: `features_network.*`, `embedding_network.*`.
    TorchAudio,
}

impl Naming {
    /// Lower-case name, as in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::TorchVggish => "torchvggish",
            Self::TorchAudio => "torchaudio",
        }
    }

    /// The key of the first tensor, which identifies the naming.
    fn first_key(self) -> &'static str {
        match self {
            Self::TorchVggish => "features.0.weight",
            Self::TorchAudio => "features_network.0.weight",
        }
    }

    fn module(self, layer: &Layer) -> &'static str {
        match self {
            Self::TorchVggish => layer.torchvggish,
            Self::TorchAudio => layer.torchaudio,
        }
    }
}

/// A network tensor group: the burn field and its two PyTorch names.
struct Layer {
    torchvggish: &'static str,
    torchaudio: &'static str,
    /// `(in, out)` channels or features.
    size: (usize, usize),
    conv: bool,
}

const fn conv(
    torchvggish: &'static str,
    torchaudio: &'static str,
    c_in: usize,
    c_out: usize,
) -> Layer {
    Layer {
        torchvggish,
        torchaudio,
        size: (c_in, c_out),
        conv: true,
    }
}

const fn linear(
    torchvggish: &'static str,
    torchaudio: &'static str,
    d_in: usize,
    d_out: usize,
) -> Layer {
    Layer {
        torchvggish,
        torchaudio,
        size: (d_in, d_out),
        conv: false,
    }
}

/// In field order: conv1, conv2, conv3_1, conv3_2, conv4_1, conv4_2, fc1_1, fc1_2, fc2.
const LAYERS: [Layer; 9] = [
    conv("features.0", "features_network.0", 1, 64),
    conv("features.3", "features_network.3", 64, 128),
    conv("features.6", "features_network.6", 128, 256),
    conv("features.8", "features_network.8", 256, 256),
    conv("features.11", "features_network.11", 256, 512),
    conv("features.13", "features_network.13", 512, 512),
    linear("embeddings.0", "embedding_network.0", FLAT_DIM, 4096),
    linear("embeddings.2", "embedding_network.2", 4096, 4096),
    linear("embeddings.4", "embedding_network.4", 4096, EMBEDDING_DIM),
];

impl Layer {
    /// Torch shapes of weight and bias.
    fn shapes(&self) -> [Vec<usize>; 2] {
        let (i, o) = self.size;
        if self.conv {
            [vec![o, i, 3, 3], vec![o]]
        } else {
            [vec![o, i], vec![o]]
        }
    }
}

/// A network with its weights, and the PCA parameters when the file carried them.
#[derive(Debug)]
pub struct LoadedVggish {
    pub model: Vggish,
    pub naming: Naming,
    pub pca: Option<Pca>,
}

/// Loads the network from a torchvggish or torchaudio state dict (`.pth`/`.pt` or safetensors).
pub fn load_vggish(path: &Path, config: &VggishConfig, device: &Device) -> Result<LoadedVggish> {
    let file = TensorFile::open(path)?;
    let shapes = file.shapes()?;
    let (naming, prefix) = detect_naming(path, &shapes)?;
    let pca_keys = pca_keys(&prefix, &shapes);
    let problems = check(naming, &prefix, &shapes, &pca_keys);
    if !problems.is_empty() {
        return Err(VggishError::WeightMismatch {
            path: path.to_owned(),
            naming: naming.name(),
            problems,
        });
    }
    let mut model = config.init(device);
    let read = |layer: &Layer| -> Result<(Vec<f32>, Param<Tensor<1>>)> {
        let key = |part: &str| format!("{prefix}{}.{part}", naming.module(layer));
        let bias = vector_param(file.read_f32(&key("bias"))?, device);
        Ok((file.read_f32(&key("weight"))?, bias))
    };
    let convs = [
        &mut model.conv1,
        &mut model.conv2,
        &mut model.conv3_1,
        &mut model.conv3_2,
        &mut model.conv4_1,
        &mut model.conv4_2,
    ];
    for (conv, layer) in convs.into_iter().zip(&LAYERS[..6]) {
        let (weight, bias) = read(layer)?;
        let (c_in, c_out) = layer.size;
        let data = TensorData::new(weight, [c_out, c_in, 3, 3]);
        conv.weight = Param::from_tensor(Tensor::from_data(data, device));
        conv.bias = Some(bias);
    }
    let fcs = [&mut model.fc1_1, &mut model.fc1_2, &mut model.fc2];
    for (fc, layer) in fcs.into_iter().zip(&LAYERS[6..]) {
        let (weight, bias) = read(layer)?;
        let (d_in, d_out) = layer.size;
        // torch [out, in] → burn [in, out]
        let data = TensorData::new(transpose(&weight, d_out, d_in), [d_in, d_out]);
        fc.weight = Param::from_tensor(Tensor::from_data(data, device));
        fc.bias = Some(bias);
    }
    let pca = pca_keys
        .map(|(vectors, means)| Pca::from_tensor_file(&file, &vectors, &means))
        .transpose()?;
    tracing::debug!(path = %path.display(), naming = naming.name(), pca = pca.is_some(), "vggish weights loaded");
    Ok(LoadedVggish { model, naming, pca })
}

fn vector_param(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let len = values.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, [len]), device))
}

/// The naming and the key prefix in front of it (empty for a plain state dict).
fn detect_naming(path: &Path, shapes: &BTreeMap<String, Vec<usize>>) -> Result<(Naming, String)> {
    for naming in [Naming::TorchVggish, Naming::TorchAudio] {
        let first = naming.first_key();
        let found = shapes.keys().find_map(|key| {
            let prefix = key.strip_suffix(first)?;
            (prefix.is_empty() || prefix.ends_with('.')).then(|| prefix.to_owned())
        });
        if let Some(prefix) = found {
            return Ok((naming, prefix));
        }
    }
    Err(VggishError::UnknownNaming {
        path: path.to_owned(),
        found: shapes.keys().take(6).cloned().collect(),
    })
}

/// The post-processor keys carried beside the network, if both are there.
fn pca_keys(prefix: &str, shapes: &BTreeMap<String, Vec<usize>>) -> Option<(String, String)> {
    [format!("{prefix}pproc."), prefix.to_owned()]
        .into_iter()
        .map(|p| (format!("{p}{PCA_EIGEN_VECTORS}"), format!("{p}{PCA_MEANS}")))
        .find(|(vectors, means)| shapes.contains_key(vectors) && shapes.contains_key(means))
}

fn check(
    naming: Naming,
    prefix: &str,
    shapes: &BTreeMap<String, Vec<usize>>,
    pca: &Option<(String, String)>,
) -> Vec<TensorProblem> {
    let mut expected = BTreeMap::new();
    for layer in &LAYERS {
        let [weight, bias] = layer.shapes();
        let module = naming.module(layer);
        expected.insert(format!("{prefix}{module}.weight"), weight);
        expected.insert(format!("{prefix}{module}.bias"), bias);
    }
    let mut problems = Vec::new();
    for (tensor, shape) in &expected {
        match shapes.get(tensor) {
            None => problems.push(TensorProblem::Missing {
                tensor: tensor.clone(),
                shape: shape.clone(),
            }),
            Some(found) if found != shape => problems.push(TensorProblem::WrongShape {
                tensor: tensor.clone(),
                expected: shape.clone(),
                found: found.clone(),
            }),
            Some(_) => {}
        }
    }
    let is_pca = |key: &String| pca.as_ref().is_some_and(|(v, m)| key == v || key == m);
    problems.extend(
        shapes
            .keys()
            .filter(|key| !expected.contains_key(*key) && !is_pca(key))
            .map(|key| TensorProblem::Unexpected {
                tensor: key.clone(),
            }),
    );
    problems
}

/// Row-major `[rows, cols]` → `[cols, rows]`, in cache-sized blocks.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const BLOCK: usize = 64;
    let mut out = vec![0.0; values.len()];
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                for c in c0..(c0 + BLOCK).min(cols) {
                    out[c * rows + r] = values[r * cols + c];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_axes() {
        let values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        assert_eq!(transpose(&values, 2, 3), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn parameter_count_matches_the_reference() {
        let total: usize = LAYERS
            .iter()
            .flat_map(|l| l.shapes())
            .map(|s| s.iter().product::<usize>())
            .sum();
        assert_eq!(total, 72_141_184);
    }
}
