//! PyTorch `nn.GRUCell` and single-layer `nn.GRU` (`batch_first`, optionally bidirectional)
//! with PyTorch's gate layout (models.md §1.3): rows stacked `[r; z; n]`,
//! `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

/// PyTorch → burn key renames for an `nn.GRU` held as a [`Gru`]: `<gru>.weight_ih_l0` →
/// `<gru>.l0.weight_ih`, `<gru>.weight_ih_l0_reverse` → `<gru>.l0_reverse.weight_ih`. A model
/// with a `Gru` lists these in its [`ZooModel::key_remapping`](crate::ZooModel::key_remapping).
pub const GRU_KEY_REMAPPING: [(&str, &str); 2] = [
    (
        r"\.(weight|bias)_(ih|hh)_l0_reverse$",
        ".l0_reverse.${1}_${2}",
    ),
    (r"\.(weight|bias)_(ih|hh)_l0$", ".l0.${1}_${2}"),
];

/// `nn.GRUCell(input, hidden)`: weights `[3·hidden, input]`, `[3·hidden, hidden]`, biases
/// `[3·hidden]`.
#[derive(Module, Debug)]
pub struct GruCell {
    pub weight_ih: Param<Tensor<2>>,
    pub weight_hh: Param<Tensor<2>>,
    pub bias_ih: Param<Tensor<1>>,
    pub bias_hh: Param<Tensor<1>>,
}

impl GruCell {
    /// PyTorch's initialisation: every tensor `U(−1/√hidden, 1/√hidden)`.
    pub fn new(input: usize, hidden: usize, device: &Device) -> Self {
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        Self {
            weight_ih: init.init([3 * hidden, input], device),
            weight_hh: init.init([3 * hidden, hidden], device),
            bias_ih: init.init([3 * hidden], device),
            bias_hh: init.init([3 * hidden], device),
        }
    }

    /// Hidden width.
    pub fn hidden(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// One step: `GRUCell(x, h)`.
    ///
    /// # Shapes
    /// - x: `[batch, input]`, h: `[batch, hidden]` → `[batch, hidden]`
    pub fn forward(&self, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        self.step(self.input_gates(x), h)
    }

    /// `x W_ihᵀ + b_ih` for any number of leading axes (precomputed once per sequence).
    ///
    /// # Shapes
    /// - x: `[..., input]` → `[..., 3·hidden]`
    pub fn input_gates<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let weight = self.weight_ih.val().transpose(); // [input, 3·hidden]
        let mut weight_shape = [1; D];
        weight_shape[D - 2..].copy_from_slice(&weight.dims());
        let mut bias_shape = [1; D];
        bias_shape[D - 1] = self.bias_ih.dims()[0];
        x.matmul(weight.reshape(weight_shape)) + self.bias_ih.val().reshape(bias_shape)
    }

    /// One step from precomputed input gates `gi = x W_ihᵀ + b_ih`.
    ///
    /// # Shapes
    /// - gi: `[batch, 3·hidden]`, h: `[batch, hidden]` → `[batch, hidden]`
    pub fn step(&self, gi: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let hidden = self.hidden();
        let gh = h.clone().matmul(self.weight_hh.val().transpose())
            + self.bias_hh.val().unsqueeze::<2>(); // [batch, 3·hidden]
        let gate = |t: &Tensor<2>, i: usize| t.clone().narrow(1, i * hidden, hidden);
        let r = sigmoid(gate(&gi, 0) + gate(&gh, 0));
        let z = sigmoid(gate(&gi, 1) + gate(&gh, 1));
        let n = tanh(gate(&gi, 2) + r * gate(&gh, 2));
        n.clone() + z * (h - n)
    }

    /// Runs the cell over a sequence from `h = 0`, forwards or backwards in time.
    ///
    /// # Shapes
    /// - x: `[batch, length, input]` → outputs `[batch, length, hidden]` (in input order), and
    ///   the last hidden state `[batch, hidden]`
    pub fn scan(&self, x: Tensor<3>, reverse: bool) -> (Tensor<3>, Tensor<2>) {
        let [batch, length, _] = x.dims();
        let gates = self.input_gates(x); // [batch, length, 3·hidden]
        let mut h = Tensor::zeros([batch, self.hidden()], &gates.device());
        let mut outputs = Vec::with_capacity(length);
        for i in 0..length {
            let t = if reverse { length - 1 - i } else { i };
            let gi = gates.clone().narrow(1, t, 1).squeeze_dim(1);
            h = self.step(gi, h);
            outputs.push(h.clone());
        }
        if reverse {
            outputs.reverse();
        }
        (Tensor::stack(outputs, 1), h)
    }
}

/// One-layer `nn.GRU(batch_first=True)`; `l0_reverse` holds the backward direction of a
/// bidirectional GRU (PyTorch `*_l0` / `*_l0_reverse`, see [`GRU_KEY_REMAPPING`]).
#[derive(Module, Debug)]
pub struct Gru {
    pub l0: GruCell,
    pub l0_reverse: Option<GruCell>,
}

impl Gru {
    /// A randomly initialised GRU.
    pub fn new(input: usize, hidden: usize, bidirectional: bool, device: &Device) -> Self {
        Self {
            l0: GruCell::new(input, hidden, device),
            l0_reverse: bidirectional.then(|| GruCell::new(input, hidden, device)),
        }
    }

    /// `output, h_n = gru(x)` from a zero initial state.
    ///
    /// # Shapes
    /// - x: `[batch, length, input]`
    /// - output: `[batch, length, directions·hidden]` (forward then backward features)
    /// - h_n: `[directions, batch, hidden]`
    pub fn forward(&self, x: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let (out, last) = self.l0.scan(x.clone(), false);
        match &self.l0_reverse {
            None => (out, last.unsqueeze::<3>()),
            Some(reverse) => {
                let (out_rev, last_rev) = reverse.scan(x, true);
                (
                    Tensor::cat(vec![out, out_rev], 2),
                    Tensor::stack(vec![last, last_rev], 0),
                )
            }
        }
    }
}
