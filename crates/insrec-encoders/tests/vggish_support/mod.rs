//! Test support: the synthetic VGGish weights of `vggish.md` §11 and a safetensors writer
//! (`torch.save` files come from [`insrec_testutil::torch_save`]).

use std::collections::BTreeMap;

/// One tensor: torch shape and values (row-major).
pub use insrec_testutil::torch_save::Tensor as Weight;

/// Tensor ids of §11 in order, with torchvggish and torchaudio module names and torch shapes.
pub const TENSORS: [(&str, &str, &str, &[usize]); 9] = [
    ("conv1", "features.0", "features_network.0", &[64, 1, 3, 3]),
    (
        "conv2",
        "features.3",
        "features_network.3",
        &[128, 64, 3, 3],
    ),
    (
        "conv3_1",
        "features.6",
        "features_network.6",
        &[256, 128, 3, 3],
    ),
    (
        "conv3_2",
        "features.8",
        "features_network.8",
        &[256, 256, 3, 3],
    ),
    (
        "conv4_1",
        "features.11",
        "features_network.11",
        &[512, 256, 3, 3],
    ),
    (
        "conv4_2",
        "features.13",
        "features_network.13",
        &[512, 512, 3, 3],
    ),
    (
        "fc1_1",
        "embeddings.0",
        "embedding_network.0",
        &[4096, 12288],
    ),
    (
        "fc1_2",
        "embeddings.2",
        "embedding_network.2",
        &[4096, 4096],
    ),
    ("fc2", "embeddings.4", "embedding_network.4", &[128, 4096]),
];

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `U(t, i)` in [-1, 1).
pub fn uniform(t: u64, i: u64) -> f64 {
    2.0 * ((splitmix64((t << 32) + i) >> 11) as f64 * 2f64.powi(-53)) - 1.0
}

/// The network weights keyed by TF scope (`conv1.weight`, …, `fc2.bias`).
pub fn network_weights() -> BTreeMap<String, Weight> {
    let mut out = BTreeMap::new();
    for (layer, (scope, _, _, shape)) in TENSORS.iter().enumerate() {
        let fan_in: usize = shape[1..].iter().product();
        let scale = (6.0 / fan_in as f64).sqrt();
        let t = 2 * layer as u64;
        let count: usize = shape.iter().product();
        let weight = (0..count as u64).map(|i| uniform(t, i) * scale).collect();
        let bias = (0..shape[0] as u64)
            .map(|i| uniform(t + 1, i) * 0.01)
            .collect();
        out.insert(
            format!("{scope}.weight"),
            Weight {
                shape: shape.to_vec(),
                values: weight,
            },
        );
        out.insert(
            format!("{scope}.bias"),
            Weight {
                shape: vec![shape[0]],
                values: bias,
            },
        );
    }
    out
}

/// PCA eigenvectors [128, 128] and means [128].
pub fn pca() -> (Weight, Weight) {
    let vectors = (0..128 * 128)
        .map(|i| uniform(100, i) * 0.5 / 128f64.sqrt())
        .collect();
    let means = (0..128).map(|i| uniform(101, i) * 0.5).collect();
    (
        Weight {
            shape: vec![128, 128],
            values: vectors,
        },
        Weight {
            shape: vec![128],
            values: means,
        },
    )
}

/// The network weights renamed to a state dict: `torchaudio` picks the naming.
pub fn state_dict(weights: &BTreeMap<String, Weight>, torchaudio: bool) -> Vec<(String, Weight)> {
    TENSORS
        .iter()
        .flat_map(|(scope, vggish, audio, _)| {
            let module = if torchaudio { audio } else { vggish };
            ["weight", "bias"].map(|part| {
                (
                    format!("{module}.{part}"),
                    weights[&format!("{scope}.{part}")].clone(),
                )
            })
        })
        .collect()
}

/// Safetensors bytes of float32 tensors.
pub fn safetensors_f32(tensors: &[(String, Weight)]) -> Vec<u8> {
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, w)| {
            let bytes = w
                .values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect();
            (name.clone(), bytes, w.shape.clone())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(name, bytes, shape)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .expect("valid view");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}
