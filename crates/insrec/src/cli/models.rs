//! `insrec models`: the sequence classifiers of the zoo, with parameter counts.

use std::process::ExitCode;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use insrec_zoo::ModelKind;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print this model's production config (JSON, PyOmniTS field names) instead of the list.
    #[arg(long, value_name = "MODEL")]
    config: Option<String>,
}

/// Lists every model with its weight count at the production config (parameters plus BatchNorm
/// running statistics; sinusoid tables excluded), or prints one config.
pub fn run(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = args.config {
        let kind = ModelKind::from_name(&name)?;
        let json = kind.production_config().to_json()?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    let device = Device::flex();
    println!("{:<28} {:>12}", "model", "weights");
    for &kind in ModelKind::ALL {
        let model = kind
            .production_config()
            .init(&device)
            .with_context(|| format!("building {kind} at its production config"))?;
        println!("{:<28} {:>12}", kind.name(), model.num_params());
    }
    Ok(ExitCode::SUCCESS)
}
