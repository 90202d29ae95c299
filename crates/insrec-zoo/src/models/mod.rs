//! One module per PyOmniTS model, named after it in lower case. A model not ported yet is a
//! one-line [`unported!`] stub; porting it means replacing that line by an `XConfig`
//! (implementing [`ZooConfig`](crate::ZooConfig)) and a model `X` (implementing
//! [`ZooModel`](crate::ZooModel)). The registry picks both up from the config's type.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::model::{SequenceInput, ZooModel};

pub mod autoformer;
pub mod crossformer;
pub mod dlinear;
pub mod fedformer;
pub mod film;
pub mod frets;
pub mod gru_d;
pub mod hi_patch;
pub mod informer;
pub mod itransformer;
pub mod leddam;
pub mod lightts;
pub mod linear;
pub mod mambasimple;
pub mod micn;
pub mod mtan;
pub mod nonstationary_transformer;
pub mod patchtst;
pub mod primenet;
pub mod pyraformer;
pub mod raindrop;
pub mod reformer;
pub mod segrnn;
pub mod tide;
pub mod timesnet;
pub mod transformer;
pub mod tsmixer;

/// The model type of a stub config; it cannot be built, so it never runs.
#[derive(Module, Debug)]
pub struct Unported {
    never_built: usize,
}

impl ZooModel for Unported {
    fn forward(&self, _input: &SequenceInput) -> Tensor<2> {
        unreachable!("unported model {} was built", self.never_built)
    }
}

/// Declares the config of a model that is not ported yet: building it returns
/// [`ZooError::Unimplemented`](crate::ZooError::Unimplemented).
macro_rules! unported {
    ($config:ident, $name:literal) => {
        #[doc = concat!("Placeholder config of ", $name, " (not ported yet).")]
        #[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
        pub struct $config {}

        impl $crate::config::ZooConfig for $config {
            type Model = $crate::models::Unported;
            const NAME: &'static str = $name;
            const IMPLEMENTED: bool = false;

            fn validate(&self) -> $crate::error::Result<()> {
                Ok(())
            }

            fn init(&self, _device: &burn::tensor::Device) -> $crate::error::Result<Self::Model> {
                Err($crate::error::ZooError::Unimplemented { name: $name })
            }
        }
    };
}
pub(crate) use unported;
