//! One module per PyOmniTS model, named after it in lower case: an `XConfig` (implementing
//! [`ZooConfig`](crate::ZooConfig)) and a model `X` (implementing [`ZooModel`](crate::ZooModel)).
//! The registry picks both up from the config's type.

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
