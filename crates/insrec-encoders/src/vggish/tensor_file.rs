//! Named tensors from a PyTorch checkpoint (`.pth`/`.pt`: zip, legacy or plain pickle) or a
//! safetensors file, told apart by content.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::{self, PytorchReader};
use safetensors::{Dtype, SafeTensors};

use super::error::{Result, VggishError};

/// An opened tensor container; data is read tensor by tensor.
pub(crate) struct TensorFile {
    path: PathBuf,
    kind: Kind,
}

enum Kind {
    Pytorch(std::collections::HashMap<String, pytorch_reader::Tensor>),
    Safetensors(Vec<u8>),
}

impl TensorFile {
    /// Opens `path`, reading only the tensor index (PyTorch) or the whole file (safetensors).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let kind = if is_safetensors(path)? {
            let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
            SafeTensors::read_metadata(&bytes).map_err(|e| format_error(path, e.to_string()))?;
            Kind::Safetensors(bytes)
        } else {
            let reader = PytorchReader::new(path).map_err(|e| format_error(path, e.to_string()))?;
            Kind::Pytorch(reader.into_tensors())
        };
        Ok(Self {
            path: path.to_owned(),
            kind,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Every tensor's name and shape, sorted by name.
    pub(crate) fn shapes(&self) -> Result<BTreeMap<String, Vec<usize>>> {
        Ok(match &self.kind {
            Kind::Pytorch(tensors) => tensors
                .iter()
                .map(|(name, t)| (name.clone(), t.shape().to_vec()))
                .collect(),
            Kind::Safetensors(bytes) => self
                .safetensors(bytes)?
                .iter()
                .map(|(name, view)| (name.to_owned(), view.shape().to_vec()))
                .collect(),
        })
    }

    /// The values of `name` as f32 (f64 tensors are rounded).
    pub(crate) fn read_f32(&self, name: &str) -> Result<Vec<f32>> {
        let (dtype, bytes) = self.read_raw(name)?;
        match dtype {
            ElementType::F32 => Ok(le_f32(&bytes)),
            ElementType::F64 => Ok(le_f64(&bytes).into_iter().map(|v| v as f32).collect()),
        }
    }

    /// The values of `name` as f64.
    pub(crate) fn read_f64(&self, name: &str) -> Result<Vec<f64>> {
        let (dtype, bytes) = self.read_raw(name)?;
        match dtype {
            ElementType::F32 => Ok(le_f32(&bytes).into_iter().map(f64::from).collect()),
            ElementType::F64 => Ok(le_f64(&bytes)),
        }
    }

    fn read_raw(&self, name: &str) -> Result<(ElementType, Vec<u8>)> {
        let unsupported = |dtype: String| VggishError::UnsupportedDtype {
            path: self.path.clone(),
            tensor: name.to_owned(),
            dtype,
        };
        let missing = || format_error(&self.path, format!("no tensor {name}"));
        match &self.kind {
            Kind::Pytorch(tensors) => {
                let tensor = tensors.get(name).ok_or_else(missing)?;
                let dtype = match tensor.dtype() {
                    pytorch_reader::DType::F32 => ElementType::F32,
                    pytorch_reader::DType::F64 => ElementType::F64,
                    other => return Err(unsupported(format!("{other:?}"))),
                };
                let bytes = tensor
                    .read()
                    .map_err(|source| io_error(&self.path, source))?;
                Ok((dtype, bytes))
            }
            Kind::Safetensors(bytes) => {
                let view = self
                    .safetensors(bytes)?
                    .tensor(name)
                    .map_err(|_| missing())?;
                let dtype = match view.dtype() {
                    Dtype::F32 => ElementType::F32,
                    Dtype::F64 => ElementType::F64,
                    other => return Err(unsupported(format!("{other:?}"))),
                };
                Ok((dtype, view.data().to_vec()))
            }
        }
    }

    fn safetensors<'a>(&self, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
        SafeTensors::deserialize(bytes).map_err(|e| format_error(&self.path, e.to_string()))
    }
}

#[derive(Clone, Copy)]
enum ElementType {
    F32,
    F64,
}

/// A safetensors file opens with a little-endian u64 header length and then the JSON `{`.
fn is_safetensors(path: &Path) -> Result<bool> {
    let mut head = [0u8; 9];
    let mut file = File::open(path).map_err(|source| io_error(path, source))?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(source) => return Err(io_error(path, source)),
        }
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[..8]);
    Ok(u64::from_le_bytes(len) <= 100_000_000 && head[8] == b'{')
}

pub(crate) fn le_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn le_f64(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> VggishError {
    VggishError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn format_error(path: &Path, reason: String) -> VggishError {
    VggishError::Format {
        path: path.to_owned(),
        reason,
    }
}
