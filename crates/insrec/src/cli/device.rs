//! `--device`: where `insrec train`, `eval` and `bench` run their models. burn's `flex` CPU
//! backend is always there; GPU backends are compiled in by cargo feature (`wgpu`, `cuda`).

use anyhow::bail;
use burn::tensor::Device;
use clap::Args;

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// `cpu` (burn's flex backend), or `wgpu` / `cuda` in a build with that cargo feature
    /// (`cargo build --release -p insrec --features wgpu`).
    #[arg(
        long,
        env = "INSREC_DEVICE",
        default_value = "cpu",
        value_name = "cpu|wgpu|cuda"
    )]
    pub device: String,
}

impl DeviceArgs {
    /// The device named by `--device`.
    pub fn device(&self) -> anyhow::Result<Device> {
        match self.device.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Device::flex()),
            "wgpu" => wgpu(),
            "cuda" => cuda(),
            other => bail!("--device {other:?}: expected cpu, wgpu or cuda"),
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu() -> anyhow::Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> anyhow::Result<Device> {
    bail!(
        "--device wgpu: this insrec was built without GPU support; rebuild it with `cargo build --release -p insrec --features wgpu`"
    )
}

#[cfg(feature = "cuda")]
fn cuda() -> anyhow::Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> anyhow::Result<Device> {
    bail!(
        "--device cuda: this insrec was built without CUDA support; rebuild it with `cargo build --release -p insrec --features cuda`"
    )
}
