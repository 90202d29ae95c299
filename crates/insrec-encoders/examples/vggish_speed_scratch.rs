use burn::tensor::{Device, Distribution, Tensor};
use insrec_encoders::vggish::*;
fn main() {
    let dev = Device::flex();
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(188);
    let threads: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let m = VggishConfig::new().init(&dev);
    let enc = VggishEncoder::new(m.clone(), dev.clone()).with_threads(threads);
    let dev = dev.clone();
    let x: Vec<f32> = (0..n * 96 * 64).map(|i| ((i as f32 * 0.618034).fract() * 6.6) - 4.6).collect();
    let a = Tensor::<2>::random([1024, 1024], Distribution::Normal(0.0, 1.0), &dev);
    let bm = Tensor::<2>::random([1024, 1024], Distribution::Normal(0.0, 1.0), &dev);
    for _ in 0..3 { let t = std::time::Instant::now(); let _ = a.clone().matmul(bm.clone()).into_data(); let s = t.elapsed().as_secs_f64(); println!("matmul 1024^3: {:.3} s = {:.1} GFLOP/s", s, 2.0*1024f64.powi(3)/s/1e9); }
    if std::env::args().nth(3).is_some() { return; }
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let _ = enc.embed(&x).unwrap();
        println!("{n} examples, {threads} threads: {:.3} s", t.elapsed().as_secs_f64());
    }
    let xb = Tensor::<3>::random([32, 96, 64], Distribution::Normal(0.0, 1.0), &dev);
    let [b, _, _] = xb.dims();
    let x4 = xb.clone().reshape([b, 1, 96, 64]);
    let time = |name: &str, f: &dyn Fn() -> Tensor<4>| { let t = std::time::Instant::now(); let y = f(); let _ = y.into_data(); println!("{name}: {:.3} s", t.elapsed().as_secs_f64()); };
    let a1 = Tensor::<4>::random([b, 64, 48, 32], Distribution::Normal(0.0, 1.0), &dev);
    let a2 = Tensor::<4>::random([b, 128, 24, 16], Distribution::Normal(0.0, 1.0), &dev);
    let a3 = Tensor::<4>::random([b, 256, 24, 16], Distribution::Normal(0.0, 1.0), &dev);
    let a4 = Tensor::<4>::random([b, 256, 12, 8], Distribution::Normal(0.0, 1.0), &dev);
    let a5 = Tensor::<4>::random([b, 512, 12, 8], Distribution::Normal(0.0, 1.0), &dev);
    time("conv1 b32", &|| m.conv1.forward(x4.clone()));
    time("conv2 b32", &|| m.conv2.forward(a1.clone()));
    time("conv3_1 b32", &|| m.conv3_1.forward(a2.clone()));
    time("conv3_2 b32", &|| m.conv3_2.forward(a3.clone()));
    time("conv4_1 b32", &|| m.conv4_1.forward(a4.clone()));
    time("conv4_2 b32", &|| m.conv4_2.forward(a5.clone()));
    let f = Tensor::<2>::random([b, 12288], Distribution::Normal(0.0, 1.0), &dev);
    let t = std::time::Instant::now(); let _ = m.fc1_1.forward(f).into_data(); println!("fc1_1 b32: {:.3}", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now(); let _ = m.features(xb.clone()).into_data(); println!("features b32: {:.3}", t.elapsed().as_secs_f64());
}
#[allow(dead_code)]
fn mm() {}
