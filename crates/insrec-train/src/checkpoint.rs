//! Resumable training state: the model, the optimiser state and a serialisable trainer state,
//! written every epoch so that a killed run continues where it stopped.
//!
//! ```text
//! <dir>/latest.json          {"dir": "epoch-0007", "state": {...}}   the last complete checkpoint
//! <dir>/epoch-0007/model.bpk       burnpack record (keeps parameter ids)
//! <dir>/epoch-0007/optimizer.bpk   burnpack optimiser record (keyed by parameter id)
//! ```
//!
//! A checkpoint is written into `epoch-NNNN.tmp/`, renamed to `epoch-NNNN/`, and only then does
//! `latest.json` (itself replaced through a temporary file and a rename) point at it; older
//! folders are removed afterwards. A kill at any moment leaves `latest.json` naming a complete
//! checkpoint. Parameter ids travel with the model record, so the optimiser state loaded with
//! them matches the parameters again.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The pointer file naming the last complete checkpoint.
pub const LATEST_JSON: &str = "latest.json";
const MODEL_BPK: &str = "model.bpk";
const OPTIMIZER_BPK: &str = "optimizer.bpk";

#[derive(Serialize, Deserialize)]
struct Pointer<S> {
    dir: String,
    state: S,
}

/// A folder of epoch checkpoints.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a complete checkpoint exists.
    pub fn exists(&self) -> bool {
        self.dir.join(LATEST_JSON).is_file()
    }

    /// Writes the checkpoint of `epoch` (any number that grows from one call to the next).
    pub fn save<M: Module, S: Serialize>(
        &self,
        epoch: usize,
        model: &M,
        optimizer: &ModuleOptimizer,
        state: &S,
    ) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(TrainError::io(&self.dir))?;
        let name = format!("epoch-{epoch:04}");
        let target = self.dir.join(&name);
        let staging = self.dir.join(format!("{name}.tmp"));
        for stale in [&staging, &target] {
            if stale.exists() {
                fs::remove_dir_all(stale).map_err(TrainError::io(stale))?;
            }
        }
        fs::create_dir_all(&staging).map_err(TrainError::io(&staging))?;
        let model_path = staging.join(MODEL_BPK);
        model
            .clone()
            .into_record()
            .save(&model_path)
            .map_err(|e| checkpoint_error(&model_path, e))?;
        let optimizer_path = staging.join(OPTIMIZER_BPK);
        optimizer
            .save(&optimizer_path)
            .map_err(|e| checkpoint_error(&optimizer_path, e))?;
        for file in [&model_path, &optimizer_path] {
            sync(file)?;
        }
        fs::rename(&staging, &target).map_err(TrainError::io(&target))?;
        let pointer = Pointer { dir: name, state };
        let json = serde_json::to_vec_pretty(&pointer).map_err(|source| TrainError::Json {
            path: self.dir.join(LATEST_JSON),
            source,
        })?;
        write_atomic(&self.dir.join(LATEST_JSON), &json)?;
        self.remove_others(&pointer.dir);
        Ok(())
    }

    /// Loads the last complete checkpoint into `model` (a freshly built model of the same config)
    /// and `optimizer`; `None` when there is none.
    pub fn load<M: Module, S: DeserializeOwned>(
        &self,
        model: M,
        optimizer: ModuleOptimizer,
    ) -> Result<Option<(M, ModuleOptimizer, S)>> {
        let latest = self.dir.join(LATEST_JSON);
        if !latest.is_file() {
            return Ok(None);
        }
        let text = fs::read(&latest).map_err(TrainError::io(&latest))?;
        let pointer: Pointer<S> =
            serde_json::from_slice(&text).map_err(|source| TrainError::Json {
                path: latest.clone(),
                source,
            })?;
        let dir = self.dir.join(&pointer.dir);
        let model_path = dir.join(MODEL_BPK);
        let optimizer_path = dir.join(OPTIMIZER_BPK);
        let (model, optimizer) = guard_loader(
            || {
                let record = ModuleRecord::load(&model_path)
                    .map_err(|e| checkpoint_error(&model_path, e))?;
                let model = model
                    .try_load_record(record)
                    .map_err(|e| checkpoint_error(&model_path, e))?;
                let optimizer = optimizer
                    .load(&optimizer_path)
                    .map_err(|e| checkpoint_error(&optimizer_path, e))?;
                Ok((model, optimizer))
            },
            |reason| checkpoint_error(&dir, reason),
        )?;
        Ok(Some((model, optimizer, pointer.state)))
    }

    /// Removes every checkpoint folder except `keep` (best effort: leftovers only cost space).
    fn remove_others(&self, keep: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("epoch-")
                && name != keep
                && let Err(e) = fs::remove_dir_all(entry.path())
            {
                tracing::warn!(
                    "cannot remove old checkpoint {}: {e}",
                    entry.path().display()
                );
            }
        }
    }
}

/// Runs burn's record loading, turning a panic into the error `corrupt` makes of its message: on
/// malformed records burn asserts (a tensor without a parameter id, an impossible rank) instead of
/// returning an error, as fuzzing found (`tests/fuzz.rs`; the inputs are kept in
/// `tests/data/corrupt-checkpoints`).
pub(crate) fn guard_loader<T, E>(
    load: impl FnOnce() -> std::result::Result<T, E>,
    corrupt: impl FnOnce(String) -> E,
) -> std::result::Result<T, E> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)).unwrap_or_else(|panic| {
        let message = insrec_core::panic_message(&*panic);
        Err(corrupt(format!("corrupt record ({})", message.trim())))
    })
}

fn checkpoint_error(path: &Path, error: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

/// Flushes a written file to disk.
fn sync(path: &Path) -> Result<()> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(TrainError::io(path))
}

/// The temporary sibling `path` is written through.
fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` through a temporary sibling and a rename, so that a reader (or a
/// resumed run) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomic(path, |tmp| {
        fs::write(tmp, bytes).map_err(TrainError::io(tmp))
    })
}

/// Runs `write` on a temporary sibling of `path`, then renames it over `path`.
pub fn replace_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = staging_path(path);
    write(&tmp)?;
    sync(&tmp)?;
    fs::rename(&tmp, path).map_err(TrainError::io(path))
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::optim::adam;

    fn step(layer: Linear, optimizer: &mut ModuleOptimizer, device: &Device) -> Linear {
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), device);
        let loss = layer.forward(x).powf_scalar(2.0).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        optimizer.step(1e-2, layer, grads)
    }

    fn weights(layer: &Linear) -> Vec<f32> {
        layer
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    }

    #[test]
    fn resumed_adam_continues_exactly() -> Result<()> {
        let dir = tempfile::tempdir().map_err(TrainError::io("tempdir"))?;
        let device = Device::flex().autodiff();
        let config = LinearConfig::new(3, 2);
        let mut optimizer = adam();
        let mut layer = config.init(&device);
        for _ in 0..3 {
            layer = step(layer, &mut optimizer, &device);
        }
        let checkpoints = Checkpoints::new(dir.path().join("ckpt"));
        checkpoints.save(3, &layer, &optimizer, &"three steps")?;
        checkpoints.save(4, &layer, &optimizer, &"again")?;
        let straight = weights(&step(layer, &mut optimizer, &device));

        // A fresh layer (other parameter ids, other values) and a fresh optimiser.
        let fresh = config.init(&device);
        let Some((loaded, mut resumed, state)) =
            checkpoints.load::<Linear, String>(fresh, adam())?
        else {
            panic!("checkpoint expected")
        };
        assert_eq!(state, "again");
        let after = weights(&step(loaded, &mut resumed, &device));
        assert_eq!(after, straight, "Adam moments must be restored");
        let folders: Vec<String> = fs::read_dir(checkpoints.dir())
            .map_err(TrainError::io("ckpt"))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("epoch-"))
            .collect();
        assert_eq!(folders, ["epoch-0004"], "older checkpoints are removed");
        Ok(())
    }

    #[test]
    fn no_checkpoint_loads_as_none() -> Result<()> {
        let dir = tempfile::tempdir().map_err(TrainError::io("tempdir"))?;
        let device = Device::flex().autodiff();
        let none = Checkpoints::new(dir.path())
            .load::<Linear, String>(LinearConfig::new(1, 1).init(&device), adam())?;
        assert!(none.is_none());
        Ok(())
    }

    #[test]
    fn atomic_write_replaces_whole_files() -> Result<()> {
        let dir = tempfile::tempdir().map_err(TrainError::io("tempdir"))?;
        let path = dir.path().join("x.json");
        write_atomic(&path, b"one")?;
        write_atomic(&path, b"two")?;
        assert_eq!(fs::read(&path).map_err(TrainError::io(&path))?, b"two");
        assert!(!staging_path(&path).exists());
        Ok(())
    }
}
