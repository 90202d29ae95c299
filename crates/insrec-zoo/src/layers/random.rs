//! Random numbers of the models that draw at inference (Informer, Reformer, mTAN; models.md §5.7):
//! the draws recorded from PyTorch ([`SequenceInput::draws`]) replayed in call order, or fresh
//! ones from the backend generator, which `Device::seed` makes reproducible.

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use crate::model::SequenceInput;

/// Hands out one forward pass's random tensors in call order.
#[derive(Debug)]
pub struct DrawSource<'a> {
    recorded: &'a [TensorData],
    used: usize,
}

impl<'a> DrawSource<'a> {
    /// Replays `input.draws` when there are any, else draws fresh numbers.
    pub fn new(input: &'a SequenceInput) -> Self {
        Self {
            recorded: &input.draws,
            used: 0,
        }
    }

    /// `torch.randint(high, shape)`: integers uniform in `[0, high)`.
    ///
    /// # Panics
    /// When replaying and the next recorded draw is missing or has another shape (the draws
    /// belong to another model or config).
    pub fn randint<const D: usize>(
        &mut self,
        shape: [usize; D],
        high: usize,
        device: &Device,
    ) -> Tensor<D, Int> {
        match self.next_recorded(&shape) {
            Some(data) => Tensor::from_data(data, device),
            None => Tensor::random(shape, Distribution::Uniform(0.0, high as f64), device),
        }
    }

    /// `torch.randn(shape)`: standard normal numbers.
    ///
    /// # Panics
    /// As [`DrawSource::randint`].
    pub fn randn<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        match self.next_recorded(&shape) {
            Some(data) => Tensor::from_data(data, device),
            None => Tensor::random(shape, Distribution::Normal(0.0, 1.0), device),
        }
    }

    fn next_recorded(&mut self, shape: &[usize]) -> Option<TensorData> {
        if self.recorded.is_empty() {
            return None;
        }
        let index = self.used;
        let data = self.recorded.get(index).unwrap_or_else(|| {
            panic!(
                "random draw {index} is needed but only {} were recorded",
                self.recorded.len()
            )
        });
        assert_eq!(
            &data.shape()[..],
            shape,
            "recorded random draw {index} has the wrong shape"
        );
        self.used += 1;
        Some(data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_with(draws: Vec<TensorData>) -> SequenceInput {
        let device = Device::flex();
        SequenceInput::new(Tensor::zeros([1, 10, 128], &device))
            .expect("clip shape")
            .with_draws(draws)
    }

    #[test]
    fn recorded_draws_are_replayed_in_order() {
        let device = Device::flex();
        let input = input_with(vec![
            TensorData::new(vec![3i64, 1], [2]),
            TensorData::new(vec![0.5f32, -2.0], [1, 2]),
        ]);
        let mut draws = DrawSource::new(&input);
        let first: Vec<i64> = draws.randint([2], 10, &device).into_data().iter().collect();
        let second: Vec<f32> = draws.randn([1, 2], &device).into_data().iter().collect();
        assert_eq!(first, [3, 1]);
        assert_eq!(second, [0.5, -2.0]);
    }

    #[test]
    #[should_panic(expected = "wrong shape")]
    fn a_recorded_draw_of_another_shape_is_refused() {
        let input = input_with(vec![TensorData::new(vec![0.5f32, -2.0], [2])]);
        DrawSource::new(&input).randn([1, 2], &Device::flex());
    }

    #[test]
    fn fresh_integers_stay_below_the_bound() {
        let input = input_with(Vec::new());
        let values: Vec<i64> = DrawSource::new(&input)
            .randint([64], 10, &Device::flex())
            .into_data()
            .iter()
            .collect();
        assert!(values.iter().all(|v| (0..10).contains(v)), "{values:?}");
        assert!(
            values.iter().any(|&v| v != values[0]),
            "all equal: {values:?}"
        );
    }
}
