//! [`Vggish`]: the VGGish CNN (`shared/reference/vggish.md` §7), one log-mel example `[96, 64]` →
//! one 128-d embedding.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};

/// Width of the embedding.
pub const EMBEDDING_DIM: usize = 128;
/// Channels × time × band after the last pool: the input width of `fc1_1`.
pub const FLAT_DIM: usize = 512 * 6 * 4;

/// Convolution channels (in, out), TF scope names in order.
const CONVS: [(usize, usize); 6] = [
    (1, 64),
    (64, 128),
    (128, 256),
    (256, 256),
    (256, 512),
    (512, 512),
];

/// Options of [`Vggish`].
#[derive(Config, Debug, PartialEq)]
pub struct VggishConfig {
    /// Apply ReLU to `fc2` as the 2018 release did (OpenMIC, torchvggish, torchaudio); current
    /// TensorFlow upstream returns the pre-activation.
    #[config(default = true)]
    pub final_relu: bool,
}

impl VggishConfig {
    /// Builds the network with zero weights, to be filled by a weight loader.
    pub fn init(&self, device: &Device) -> Vggish {
        let conv = |(c_in, c_out): (usize, usize)| {
            Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        Vggish {
            conv1: conv(CONVS[0]),
            conv2: conv(CONVS[1]),
            conv3_1: conv(CONVS[2]),
            conv3_2: conv(CONVS[3]),
            conv4_1: conv(CONVS[4]),
            conv4_2: conv(CONVS[5]),
            fc1_1: linear(FLAT_DIM, 4096),
            fc1_2: linear(4096, 4096),
            fc2: linear(4096, EMBEDDING_DIM),
            final_relu: self.final_relu,
        }
    }
}

/// VGG configuration A minus its last block: six 3×3 convolutions, four 2×2 max pools and three
/// fully connected layers. Field names are the TensorFlow scopes.
#[derive(Module, Debug)]
pub struct Vggish {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub conv3_1: Conv2d,
    pub conv3_2: Conv2d,
    pub conv4_1: Conv2d,
    pub conv4_2: Conv2d,
    pub fc1_1: Linear,
    pub fc1_2: Linear,
    pub fc2: Linear,
    pub final_relu: bool,
}

impl Vggish {
    /// Embeddings: `fc2`, followed by ReLU when configured.
    ///
    /// # Shapes
    /// `[n, 96, 64]` (time, mel band) → `[n, 128]`.
    pub fn forward(&self, examples: Tensor<3>) -> Tensor<2> {
        let pre = self.forward_preactivation(examples);
        if self.final_relu { relu(pre) } else { pre }
    }

    /// `fc2` before its activation.
    ///
    /// # Shapes
    /// `[n, 96, 64]` → `[n, 128]`.
    pub fn forward_preactivation(&self, examples: Tensor<3>) -> Tensor<2> {
        let flat = self.features(examples);
        let x = relu(self.fc1_1.forward(flat));
        let x = relu(self.fc1_2.forward(x));
        self.fc2.forward(x)
    }

    /// The convolutional part, flattened in TensorFlow's NHWC order (the `fc1_1` input).
    ///
    /// # Shapes
    /// `[n, 96, 64]` → `[n, 12288]`, index `(h * 4 + w) * 512 + c`.
    pub fn features(&self, examples: Tensor<3>) -> Tensor<2> {
        let [n, _, _] = examples.dims();
        let x = examples.reshape([n, 1, EXAMPLE_FRAMES, MEL_BANDS]);
        let x = pool(relu(self.conv1.forward(x))); // [n, 64, 48, 32]
        let x = pool(relu(self.conv2.forward(x))); // [n, 128, 24, 16]
        let x = relu(self.conv3_1.forward(x));
        let x = pool(relu(self.conv3_2.forward(x))); // [n, 256, 12, 8]
        let x = relu(self.conv4_1.forward(x));
        let x = pool(relu(self.conv4_2.forward(x))); // [n, 512, 6, 4]
        x.permute([0, 2, 3, 1]).reshape([n, FLAT_DIM])
    }
}

/// 2×2 max pool, stride 2 (TF SAME adds no padding on these even sizes).
fn pool(x: Tensor<4>) -> Tensor<4> {
    max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]))
}
