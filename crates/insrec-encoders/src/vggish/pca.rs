//! The post-processor (`shared/reference/vggish.md` §8): PCA, clip to ±2, 8-bit quantisation.

use std::io::{Cursor, Read};
use std::path::Path;

use super::error::{Result, VggishError};
use super::network::EMBEDDING_DIM;
use super::pickle::{NdArray, Value, decode_array, load_saved_object};
use super::tensor_file::{TensorFile, io_error};

/// Name of the eigenvector matrix `E` [128, 128] (row j = output dimension j).
pub const PCA_EIGEN_VECTORS: &str = "pca_eigen_vectors";
/// Name of the mean vector `mu` (128 values, `[128]` or `[128, 1]`).
pub const PCA_MEANS: &str = "pca_means";

/// Quantisation bound: PCA outputs are clipped to `[-QUANTIZE_BOUND, QUANTIZE_BOUND]`.
const QUANTIZE_BOUND: f64 = 2.0;

/// How a clipped PCA value becomes one of 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// TensorFlow `vggish_postprocess` and OpenMIC-2018's `X`: truncation (`astype(uint8)`).
    #[default]
    Truncate,
    /// torchvggish's `Postprocessor`: `torch.round`, half to even.
    HalfEven,
}

/// PCA parameters of the post-processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// `E`, row-major [128, 128].
    eigen_vectors: Vec<f64>,
    /// `mu`, 128 values.
    means: Vec<f64>,
}

impl Pca {
    /// From `E` (row-major [128, 128]) and `mu` (128 values); `None` if the sizes are wrong.
    pub fn new(eigen_vectors: Vec<f64>, means: Vec<f64>) -> Option<Self> {
        (eigen_vectors.len() == EMBEDDING_DIM * EMBEDDING_DIM && means.len() == EMBEDDING_DIM)
            .then_some(Self {
                eigen_vectors,
                means,
            })
    }

    /// Reads the parameters from torchvggish's `vggish_pca_params-970ea276.pth` (a pickled dict
    /// of NumPy arrays, any `torch.save` container), a `.pth`/safetensors file with tensors
    /// `pca_eigen_vectors`/`pca_means` (optionally under `pproc.`), or TensorFlow's
    /// `vggish_pca_params.npz`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
        let bad = |reason: String| VggishError::BadPca {
            path: path.to_owned(),
            reason,
        };
        if bytes.starts_with(b"PK\x03\x04") && npz_has_pca(&bytes) {
            let (vectors, means) = read_npz(&bytes).map_err(bad)?;
            return Self::checked(path, vectors, means);
        }
        if let Ok(file) = TensorFile::open(path) {
            let shapes = file.shapes()?;
            let found = ["", "pproc."].iter().find(|p| {
                shapes.contains_key(&format!("{p}{PCA_EIGEN_VECTORS}"))
                    && shapes.contains_key(&format!("{p}{PCA_MEANS}"))
            });
            if let Some(prefix) = found {
                return Self::from_tensor_file(
                    &file,
                    &format!("{prefix}{PCA_EIGEN_VECTORS}"),
                    &format!("{prefix}{PCA_MEANS}"),
                );
            }
        }
        let root = load_saved_object(&bytes).map_err(bad)?;
        let (vectors, means) = numpy_pair(&root).map_err(bad)?;
        Self::checked(path, vectors, means)
    }

    /// Reads `vectors` and `means` tensors from an opened weight file.
    pub(crate) fn from_tensor_file(file: &TensorFile, vectors: &str, means: &str) -> Result<Self> {
        let shapes = file.shapes()?;
        let array = |name: &str| -> Result<NdArray> {
            Ok(NdArray {
                shape: shapes.get(name).cloned().unwrap_or_default(),
                values: file.read_f64(name)?,
            })
        };
        Self::checked(file.path(), array(vectors)?, array(means)?)
    }

    fn checked(path: &Path, vectors: NdArray, means: NdArray) -> Result<Self> {
        let bad = |reason: String| VggishError::BadPca {
            path: path.to_owned(),
            reason,
        };
        if vectors.shape != [EMBEDDING_DIM, EMBEDDING_DIM] {
            return Err(bad(format!(
                "{PCA_EIGEN_VECTORS} has shape {:?}, expected [128, 128]",
                vectors.shape
            )));
        }
        let non_unit: Vec<usize> = means.shape.iter().copied().filter(|&d| d != 1).collect();
        if non_unit != [EMBEDDING_DIM] {
            return Err(bad(format!(
                "{PCA_MEANS} has shape {:?}, expected [128] or [128, 1]",
                means.shape
            )));
        }
        Ok(Self {
            eigen_vectors: vectors.values,
            means: means.values,
        })
    }

    /// `E · (embedding − mu)` for one 128-d embedding.
    pub fn project(&self, embedding: &[f64]) -> [f64; EMBEDDING_DIM] {
        let centred: Vec<f64> = embedding
            .iter()
            .zip(&self.means)
            .map(|(e, m)| e - m)
            .collect();
        std::array::from_fn(|j| {
            let row = &self.eigen_vectors[j * EMBEDDING_DIM..(j + 1) * EMBEDDING_DIM];
            row.iter().zip(&centred).map(|(w, c)| w * c).sum()
        })
    }

    /// PCA, clip to ±2 and quantise: `embeddings` [n, 128] → [n, 128] values in 0..=255.
    /// Computed in f64, as NumPy does for TensorFlow's and OpenMIC's post-processor.
    ///
    /// # Panics
    /// If `embeddings.len()` is not a multiple of 128.
    pub fn quantize(&self, embeddings: &[f64], rounding: Rounding) -> Vec<u8> {
        assert!(
            embeddings.len().is_multiple_of(EMBEDDING_DIM),
            "embeddings are rows of 128"
        );
        embeddings
            .chunks_exact(EMBEDDING_DIM)
            .flat_map(|row| self.project(row))
            .map(|p| quantize_value(p, rounding))
            .collect()
    }
}

/// One PCA output → 0..=255: `(clip(p, -2, 2) + 2) · 255 / 4`, truncated or rounded.
pub fn quantize_value(p: f64, rounding: Rounding) -> u8 {
    let scaled = (p.clamp(-QUANTIZE_BOUND, QUANTIZE_BOUND) + QUANTIZE_BOUND)
        * (255.0 / (2.0 * QUANTIZE_BOUND));
    let level = match rounding {
        Rounding::Truncate => scaled.trunc(),
        Rounding::HalfEven => scaled.round_ties_even(),
    };
    level.clamp(0.0, 255.0) as u8
}

/// `pca_eigen_vectors` and `pca_means` from a pickled dict of NumPy arrays.
fn numpy_pair(root: &Value) -> std::result::Result<(NdArray, NdArray), String> {
    let Value::Dict(items) = root else {
        return Err("the pickle does not hold a dict".into());
    };
    let get = |name: &str| {
        let value = items
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == name))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("no {name} entry"))?;
        NdArray::from_pickle(value).map_err(|e| format!("{name}: {e}"))
    };
    Ok((get(PCA_EIGEN_VECTORS)?, get(PCA_MEANS)?))
}

fn npz_has_pca(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|a| {
        a.file_names()
            .any(|n| n.is_ok_and(|n| n == format!("{PCA_EIGEN_VECTORS}.npy")))
    })
}

/// `pca_eigen_vectors.npy` and `pca_means.npy` from an `.npz` archive.
fn read_npz(bytes: &[u8]) -> std::result::Result<(NdArray, NdArray), String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut read = |name: &str| {
        let entry = format!("{name}.npy");
        let mut file = archive
            .by_name(&entry)
            .map_err(|_| format!("no {entry} in the archive"))?;
        let mut npy = Vec::new();
        file.read_to_end(&mut npy)
            .map_err(|e| format!("{entry}: {e}"))?;
        parse_npy(&npy).map_err(|e| format!("{entry}: {e}"))
    };
    Ok((read(PCA_EIGEN_VECTORS)?, read(PCA_MEANS)?))
}

/// A float `.npy` (format 1.0–3.0).
fn parse_npy(npy: &[u8]) -> std::result::Result<NdArray, String> {
    if !npy.starts_with(b"\x93NUMPY") || npy.len() < 10 {
        return Err("not an .npy file".into());
    }
    let (header_len, start) = match npy[6] {
        1 => (usize::from(u16::from_le_bytes([npy[8], npy[9]])), 10),
        2 | 3 if npy.len() >= 12 => (
            u32::from_le_bytes([npy[8], npy[9], npy[10], npy[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = npy
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated .npy header")?;
    let field = |key: &str| {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("no {key}"))?;
        let rest = header[at + key.len() + 2..].trim_start_matches([':', ' ']);
        Ok::<_, String>(rest)
    };
    let descr = field("descr")?
        .strip_prefix('\'')
        .and_then(|r| r.split('\'').next())
        .ok_or("bad descr")?;
    let fortran = field("fortran_order")?.starts_with("True");
    let dims = field("shape")?
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .ok_or("bad shape")?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse::<usize>()
                .map_err(|_| format!("bad dimension {d:?}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    decode_array(descr, shape, fortran, &npy[start + header_len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_rules_differ_only_in_rounding() {
        // 0.5 → (2.5) · 63.75 = 159.375; -2.5 clips to 0; 3 clips to 255.
        assert_eq!(quantize_value(0.5, Rounding::Truncate), 159);
        assert_eq!(quantize_value(0.5, Rounding::HalfEven), 159);
        assert_eq!(quantize_value(-2.5, Rounding::Truncate), 0);
        assert_eq!(quantize_value(3.0, Rounding::HalfEven), 255);
        // 0.6 → 165.75: truncates to 165, rounds to 166
        assert_eq!(quantize_value(0.6, Rounding::Truncate), 165);
        assert_eq!(quantize_value(0.6, Rounding::HalfEven), 166);
        // exactly half: (0 + 2) · 63.75 = 127.5 → 127 truncated, 128 (even) rounded
        assert_eq!(quantize_value(0.0, Rounding::Truncate), 127);
        assert_eq!(quantize_value(0.0, Rounding::HalfEven), 128);
    }

    #[test]
    fn npy_header_is_parsed() {
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        let mut header = dict.to_owned();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend_from_slice(&1.5f32.to_le_bytes());
        npy.extend_from_slice(&(-2.0f32).to_le_bytes());
        let array = parse_npy(&npy).expect("parses");
        assert_eq!(array.shape, [2]);
        assert_eq!(array.values, [1.5, -2.0]);
    }
}
