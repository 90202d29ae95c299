//! Seconds per training step and per 64-frame inference batch of the compact model on random
//! input: `cargo run --release -p insrec-encoders --example step_speed [tcn|mlp|gru] [clips]`.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use insrec_encoders::compact::*;
fn main() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let kind = match std::env::args().nth(1).as_deref() {
        Some("mlp") => HeadKind::Mlp,
        Some("gru") => HeadKind::BiGru,
        _ => HeadKind::Tcn,
    };
    let b: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let config = CompactConfig::with_head_kind(kind);
    println!(
        "flops/frame {} params {}",
        flops_per_frame(&config),
        config.init(&device).num_params()
    );
    let mut model = config.init(&device);
    let mut opt = AdamConfig::new().init();
    let x = Tensor::<4>::random([b, 10, 96, 64], Distribution::Normal(0.0, 1.0), &device);
    for i in 0..6 {
        let t = std::time::Instant::now();
        let y = model.forward(x.clone());
        let loss = y.mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(1e-3, model, grads);
        println!(
            "step {i}: {:.3} s for {} frames",
            t.elapsed().as_secs_f64(),
            b * 10
        );
    }
    let m = model.valid();
    let dev = Device::flex();
    let m = m.to_device(&dev);
    let x = Tensor::<3>::random([64, 96, 64], Distribution::Normal(0.0, 1.0), &dev);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let _ = m.encoder.forward(x.clone()).into_data();
        println!("infer 64: {:.3}", t.elapsed().as_secs_f64());
    }
}
