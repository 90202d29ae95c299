//! Test helpers shared by every crate's tests.
//!
//! Fixtures live in `../shared/fixtures/` beside the project root. A missing fixture is a test
//! failure with the path in the message, never a silent skip.

pub mod fuzz;
pub mod torch_save;

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, ReadableElement};

/// The `shared/fixtures` folder (`<project root>/../shared/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// TimGM6mb.sf2, the small SoundFont of the synth tests (`apt-get install timgm6mb-soundfont`;
/// `INSREC_TIMGM6MB` overrides the path); panics with the install command when it is missing.
pub fn timgm6mb() -> PathBuf {
    let path = std::env::var_os("INSREC_TIMGM6MB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/sounds/sf2/TimGM6mb.sf2"));
    assert!(
        path.is_file(),
        "missing {} — install it with `apt-get install timgm6mb-soundfont`",
        path.display()
    );
    path
}

/// Path of a fixture relative to `shared/fixtures`; panics with a clear message when it is missing.
pub fn fixture(relative: impl AsRef<Path>) -> PathBuf {
    let path = fixtures_dir().join(relative.as_ref());
    assert!(
        path.exists(),
        "missing test fixture {} — the shared fixtures must sit at ../shared/fixtures beside the project root",
        path.display()
    );
    path
}

/// Reads a fixture `.npy` of any shape.
pub fn read_npy<T: ReadableElement>(relative: impl AsRef<Path>) -> ArrayD<T> {
    let path = fixture(relative);
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    ArrayD::<T>::read_npy(file).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Reads a fixture `.npy` and flattens it, returning the data and the shape.
pub fn read_npy_flat<T: ReadableElement + Clone>(
    relative: impl AsRef<Path>,
) -> (Vec<T>, Vec<usize>) {
    let array: ArrayD<T> = read_npy(relative);
    let shape = array.shape().to_vec();
    (array.into_raw_vec_and_offset().0, shape)
}

/// Largest absolute element-wise difference; panics when the lengths differ.
pub fn max_abs_diff(actual: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    actual
        .iter()
        .zip(expected)
        .map(|(a, b)| {
            if a.is_nan() || b.is_nan() {
                f64::INFINITY
            } else {
                (a - b).abs()
            }
        })
        .fold(0.0, f64::max)
}

/// Asserts `max |actual - expected| <= tol`, naming the worst index.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} vs expected {}",
        actual.len(),
        expected.len()
    );
    let (worst, diff) = actual
        .iter()
        .zip(expected)
        .map(|(a, b)| {
            if a.is_nan() || b.is_nan() {
                f64::INFINITY
            } else {
                (a - b).abs()
            }
        })
        .enumerate()
        .fold((0, 0.0), |acc, (i, d)| if d > acc.1 { (i, d) } else { acc });
    assert!(
        diff <= tol,
        "{what}: max |diff| {diff:e} at index {worst} (got {}, expected {}) exceeds {tol:e}",
        actual[worst],
        expected[worst]
    );
    // Shown with `--nocapture`: the measured agreement, for notes and README tables.
    eprintln!("{what}: max |diff| {diff:.1e} (tolerance {tol:e})");
}

/// Converts any shaped array to a dynamic one (handy for comparing with fixtures).
pub fn to_dyn<T: Clone>(data: Vec<T>, shape: &[usize]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("shape matches data length")
}
