//! `insrec train`: train a zoo classifier on a dataset, resumably.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use insrec_audio::StreamOptions;
use insrec_data::Subset;
use insrec_encoders::vggish::VggishOutput;
use insrec_train::embed::{EmbeddingCache, Encoder, content_id};
use insrec_train::{
    DataSpec, FeatureOptions, LoadedData, RunInfo, RunStatus, SplitKind, SplitPlan, TrainData,
    TrainOptions, TrainSetup,
};
use insrec_zoo::ModelKind;

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
    /// Encoder for synth or folder audio: `vggish` (OpenMIC-2018's features: VGGish, PCA,
    /// quantised, divided by 255; OpenMIC's front end) or the folder of an exported compact model.
    #[arg(long, value_name = "vggish|DIR")]
    pub encoder: Option<String>,
    /// VGGish weights for `--encoder vggish` (see `insrec embed --help`).
    #[arg(long, env = "INSREC_VGGISH_WEIGHTS", value_name = "FILE")]
    pub vggish_weights: Option<PathBuf>,
    /// VGGish PCA parameters (found beside the weights when not given).
    #[arg(long, env = "INSREC_VGGISH_PCA", value_name = "FILE")]
    pub vggish_pca: Option<PathBuf>,
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
        let encoder = self
            .encoder
            .as_deref()
            .map(|e| self.load_encoder(e))
            .transpose()?;
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

    /// `vggish` or a compact model folder, identified by the hash of its weights (and PCA).
    fn load_encoder(&self, name: &str) -> anyhow::Result<Encoder> {
        if name != "vggish" {
            return load_compact(Path::new(name));
        }
        let weights = self.vggish_weights.as_deref();
        let vggish = super::embed::load_vggish_encoder(weights, self.vggish_pca.as_deref(), true)?
            .with_output(VggishOutput::OPENMIC_UNIT)?
            // files are embedded in parallel
            .with_threads(1);
        let mut parts = Vec::new();
        if let Some(path) = weights {
            parts.push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
        }
        parts.push(format!("{:?}", vggish.pca()).into_bytes());
        let id = content_id(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        Ok(
            Encoder::new(Box::new(vggish), format!("vggish-openmic-{id}"))?
                .with_stream(StreamOptions::openmic()),
        )
    }
}

/// An exported compact model folder as the encoder, identified by the hash of its files.
fn load_compact(dir: &Path) -> anyhow::Result<Encoder> {
    let (description, weights) = insrec_encoders::compact::read_dir(dir)
        .with_context(|| format!("loading the encoder {}", dir.display()))?;
    let id = content_id(&[
        serde_json::to_string(&description.config)?.as_bytes(),
        &weights,
    ]);
    let recognizer = insrec_encoders::compact::recognizer(description, &weights)
        .with_context(|| format!("building the encoder {}", dir.display()))?;
    Ok(Encoder::new(recognizer.encoder, format!("compact-{id}"))?)
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
    if super::train_compact::is_compact(&args.model) {
        return super::train_compact::run(&args);
    }
    let kind = ModelKind::from_name(&args.model)?;
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
