//! Errors of the dataset loaders. Every message names the file and the problem.

use std::path::PathBuf;

/// Result of the dataset loaders.
pub type Result<T> = std::result::Result<T, Error>;

/// A dataset that cannot be loaded as asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path}: member {member} is missing (members: {found})")]
    MissingMember {
        path: PathBuf,
        member: String,
        found: String,
    },
    #[error("{path}: {member}: {source}")]
    Format {
        path: PathBuf,
        member: String,
        #[source]
        source: FormatError,
    },
    #[error("{path}: {member} has dtype {found:?}, expected {expected}")]
    WrongDtype {
        path: PathBuf,
        member: String,
        found: String,
        expected: &'static str,
    },
    #[error("{path}: {member} has shape {found:?}, expected {expected}")]
    WrongShape {
        path: PathBuf,
        member: String,
        found: Vec<usize>,
        expected: String,
    },
    #[error("{path}: sample key {key:?} appears twice")]
    DuplicateKey { path: PathBuf, key: String },
    #[error(
        "{path}: Y_true[{row}, {class}] = {value} is observed but outside [0, 1] (key {key:?})"
    )]
    BadRelevance {
        path: PathBuf,
        key: String,
        row: usize,
        class: &'static str,
        value: f64,
    },
    #[error("{path}: {count} keys are not in {npz} (first: {examples:?})")]
    UnknownKeys {
        path: PathBuf,
        npz: PathBuf,
        count: usize,
        examples: Vec<String>,
    },
    #[error("{path}: {count} keys are also in {other} (first: {examples:?})")]
    OverlappingPartitions {
        path: PathBuf,
        other: PathBuf,
        count: usize,
        examples: Vec<String>,
    },
    #[error("{path}: class {class:?} has index {found:?}, expected {expected} (OpenMIC class map)")]
    ClassMapMismatch {
        path: PathBuf,
        class: &'static str,
        found: Option<i64>,
        expected: usize,
    },
    #[error("{path}: unknown classes {names:?} (expected exactly the 20 OpenMIC classes)")]
    ClassMapExtra { path: PathBuf, names: Vec<String> },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: invalid CSV: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{path}: missing class columns {missing:?} (one column per OpenMIC class is required)")]
    MissingClassColumns {
        path: PathBuf,
        missing: Vec<&'static str>,
    },
    #[error("{path}: column {column:?} appears twice")]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{path}: no {column:?} column")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: no audio path column (name one column path, file, filename or key)")]
    MissingPathColumn { path: PathBuf },
    #[error("{path}:{line}: {column}: label {value:?} is not 1, 0, empty or a relevance in [0, 1]")]
    BadLabel {
        path: PathBuf,
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("{path}:{line}: audio file {audio} does not exist")]
    MissingAudio {
        path: PathBuf,
        line: u64,
        audio: PathBuf,
    },
    #[error("{path}:{line}: clip {key:?} is listed twice")]
    DuplicateClip {
        path: PathBuf,
        line: u64,
        key: String,
    },
    #[error("{path}: empty dataset: {what}")]
    Empty { path: PathBuf, what: &'static str },
    #[error(
        "{dataset}: {what} fraction {value} is outside [0, 1) or the fractions sum to 1 or more"
    )]
    InvalidFraction {
        dataset: String,
        what: &'static str,
        value: f64,
    },
    #[error("{dataset}: row {row} is out of range (the dataset has {len} rows)")]
    RowOutOfRange {
        dataset: String,
        row: usize,
        len: usize,
    },
    #[error(
        "{dataset}: {found} feature values for {clips} clips, expected {expected} (clips × 10 × 128)"
    )]
    FeatureLength {
        dataset: String,
        clips: usize,
        found: usize,
        expected: usize,
    },
    #[error("{dataset}: {keys} keys but {labels} label rows")]
    LabelCount {
        dataset: String,
        keys: usize,
        labels: usize,
    },
}

/// A problem inside one `.npy` payload (header, dtype, data or pickle).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not an .npy file (bad magic)")]
    BadMagic,
    #[error("unsupported .npy version {major}.{minor}")]
    UnsupportedVersion { major: u8, minor: u8 },
    #[error("header is truncated")]
    TruncatedHeader,
    #[error("header of {len} bytes exceeds the {limit}-byte limit")]
    HeaderTooLong { len: usize, limit: usize },
    #[error("malformed header {header:?}")]
    MalformedHeader { header: String },
    #[error("unsupported dtype {descr:?}")]
    UnsupportedDtype { descr: String },
    #[error("Fortran-order arrays are not supported")]
    FortranOrder,
    #[error("shape {shape:?} is too large")]
    ShapeOverflow { shape: Vec<usize> },
    #[error("data has {found} bytes, the header promises {expected}")]
    DataSize { expected: u64, found: u64 },
    #[error("item {index} is not valid UTF-32")]
    BadUnicode { index: usize },
    #[error("pickle: {0}")]
    Pickle(#[from] PickleError),
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a pickled NumPy object array of strings could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    #[error("does not start with a PROTO opcode (not a binary pickle)")]
    NotAPickle,
    #[error("unsupported protocol {0} (expected 2 to 5)")]
    UnsupportedProtocol(u8),
    #[error("truncated argument of opcode 0x{opcode:02x} at byte {offset}")]
    Truncated { offset: usize, opcode: u8 },
    #[error("unknown opcode 0x{opcode:02x} at byte {offset}")]
    UnknownOpcode { offset: usize, opcode: u8 },
    #[error("array item is not a string (opcode 0x{opcode:02x} at byte {offset})")]
    NotAString { offset: usize, opcode: u8 },
    #[error("string at byte {offset} is not valid UTF-8")]
    BadUtf8 { offset: usize },
    #[error("memo index {index} at byte {offset} was never stored")]
    UnknownMemo { offset: usize, index: u64 },
    #[error("{count} items cannot fit in {bytes} bytes")]
    ImplausibleCount { count: usize, bytes: usize },
    #[error("holds more than the {expected} items of the array shape")]
    TooManyItems { expected: usize },
    #[error("holds {found} items, the array shape says {expected}")]
    TooFewItems { expected: usize, found: usize },
    #[error("decoded strings exceed {limit} bytes")]
    LimitExceeded { limit: usize },
    #[error("no list of items before STOP")]
    NoList,
    #[error("ends without a STOP opcode")]
    MissingStop,
}
