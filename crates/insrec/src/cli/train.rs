//! `insrec train`: train a zoo classifier on a dataset, resumably.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use insrec_data::Subset;
use insrec_train::embed::{EmbeddingCache, Encoder};
use insrec_train::{
    DataSpec, FeatureOptions, LoadedData, RunInfo, RunStatus, SplitKind, SplitPlan, TrainData,
    TrainOptions, TrainSetup,
};
use insrec_zoo::ModelKind;

use super::device::DeviceArgs;
use super::encoders::EncoderArgs;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The classifier (PyOmniTS name, see `insrec models`), or `compact` for the end-to-end
    /// compact model (encoder + frame head) that the embedded default is, trained on audio.
    #[arg(long)]
    pub model: String,
    /// Config file: TOML with model keys and a `[train]` table, or a PyOmniTS `config.json`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override `key=value` of the model config, or `train.key=value` of the recipe
    /// (learning_rate, batch_size, train_epochs, patience, lr_scheduler, grad_clip, loss, seed,
    /// drop_last). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Run folder: best model, run.json, log.jsonl, checkpoint/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Random seed of initialisation, shuffling, dropout and the validation hold-out (default 2024).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Maximum number of epochs (default 300).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Split protocol: `official` (OpenMIC split01 / corpus split / key hash) or `seed` (81/9/10 by row).
    #[arg(long, value_enum, default_value_t = SplitArg::Official)]
    pub split: SplitArg,
    /// Train the compact encoder on log-mel frames together with the classifier (the dataset's
    /// audio: a synth corpus, a labelled folder, OpenMIC's audio/); the run's model/ folder then
    /// holds both, ready for `insrec analyze` and `insrec eval`. `--model compact` always learns
    /// its encoder.
    #[arg(long)]
    pub end_to_end: bool,
    /// Stop after this many epochs of this session; continue later with --resume.
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    Official,
    Seed,
}

impl From<SplitArg> for SplitKind {
    fn from(split: SplitArg) -> Self {
        match split {
            SplitArg::Official => SplitKind::Official,
            SplitArg::Seed => SplitKind::Seed,
        }
    }
}

/// Where the clips come from and how audio becomes embeddings.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Dataset: `openmic:PATH` (release folder), `synth:PATH` (an `insrec synth` corpus) or
    /// `folder:PATH` (audio files + labels.csv with the 20 class columns).
    #[arg(long, value_name = "KIND:PATH")]
    pub data: DataSpec,
    /// Precomputed embeddings `[N, 10, 128]` (.npy) of a synth or folder dataset, in its order;
    /// integer arrays (e.g. from `insrec embed`) are divided by 255 like OpenMIC's X.
    #[arg(long, value_name = "FILE.npy")]
    pub embeddings: Option<PathBuf>,
    #[command(flatten)]
    pub encoding: EncoderArgs,
    /// Cache of computed embeddings (default $XDG_CACHE_HOME/insrec/embeddings, else
    /// ~/.cache/insrec/embeddings).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// OpenMIC: features from this `.npy` `[N, 10, 128]` instead of the release's X
    /// (e.g. the seed's processed/x_repr_times.npy); relative to the release folder.
    #[arg(long, value_name = "FILE.npy")]
    pub openmic_features: Option<PathBuf>,
}

impl DataArgs {
    /// Loads the dataset with embeddings for every clip.
    pub fn load(&self) -> anyhow::Result<LoadedData> {
        self.load_with(None)
    }

    /// Loads the dataset, embedding audio with `encoder` unless `--encoder` names one.
    pub fn load_with(&self, encoder: Option<Encoder>) -> anyhow::Result<LoadedData> {
        // files are embedded in parallel
        let encoder = match self.encoding.load(1)? {
            Some(named) => Some(named),
            None => encoder,
        };
        let options = FeatureOptions {
            embeddings: self.embeddings.clone(),
            encoder: encoder.as_ref(),
            cache: Some(EmbeddingCache::new(
                self.cache.clone().unwrap_or_else(default_cache),
            )),
            openmic_features: self.openmic_features.clone(),
            progress: true,
        };
        Ok(LoadedData::load(&self.data, &options)?)
    }
}

fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("insrec").join("embeddings")
}

/// The model's setup from the defaults, a config file and overrides.
pub fn setup(
    kind: ModelKind,
    config: Option<&Path>,
    set: &[String],
    seed: Option<u64>,
    epochs: Option<usize>,
) -> anyhow::Result<TrainSetup> {
    let mut setup = TrainSetup::new(kind);
    if let Some(path) = config {
        setup = setup.with_file(path)?;
    }
    let mut set = set.to_vec();
    set.extend(seed.map(|s| format!("train.seed={s}")));
    set.extend(epochs.map(|e| format!("train.train_epochs={e}")));
    Ok(setup.with_overrides(&set)?)
}

/// Trains `setup` on the train and validation sides of `data` into `out`.
pub fn train_on(
    setup: &TrainSetup,
    data: &LoadedData,
    split: SplitKind,
    options: &TrainOptions,
) -> anyhow::Result<RunInfo> {
    let plan = SplitPlan::new(split, setup.recipe.seed);
    let splits = data.splits(&plan)?;
    let dataset = data.dataset();
    let train = Subset::new(dataset, splits.train)?;
    let val = Subset::new(dataset, splits.val)?;
    let input = TrainData {
        train: &train,
        val: &val,
        data: data.spec.to_string(),
        split: plan,
    };
    Ok(insrec_train::train(setup, &input, options)?)
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if args.end_to_end || super::train_compact::is_compact(&args.model) {
        return super::train_compact::run(&args);
    }
    let kind = ModelKind::from_name(&args.model)?;
    let device = args.device.device()?;
    let setup = setup(
        kind,
        args.config.as_deref(),
        &args.set,
        args.seed,
        args.epochs,
    )?;
    let data = args.data.load()?;
    let options = TrainOptions {
        out: args.out.clone(),
        resume: args.resume,
        progress: true,
        stop_after: args.stop_after,
        device,
    };
    let info = train_on(&setup, &data, args.split.into(), &options)?;
    print_summary(&info, &args.out);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(info: &RunInfo, out: &Path) {
    let best = match (info.best_epoch, info.best_val_loss) {
        (Some(epoch), Some(loss)) => {
            format!("best epoch {} (validation loss {loss:.4})", epoch + 1)
        }
        _ => "no model kept yet".to_owned(),
    };
    let how = match (info.status, info.stopped_early) {
        (RunStatus::Finished, true) => "stopped early",
        (RunStatus::Finished, false) => "all epochs",
        (RunStatus::Running, _) => "interrupted; continue with --resume",
    };
    println!(
        "{}: {} epochs ({how}), {best}, {:.1} s training, {} parameters",
        info.model, info.epochs_done, info.train_seconds, info.params
    );
    println!(
        "model: {}",
        out.join(insrec_train::trainer::MODEL_FILE).display()
    );
}
