//! Writers of the files `torch.save` produces, for loader tests: a state dict of float32 tensors
//! in the ZIP container (PyTorch ≥ 1.6) or the legacy one (PyTorch ≤ 1.5), and a dict of NumPy
//! arrays in the legacy container. Pickles are protocol 2, `torch.save`'s default.

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// One tensor: torch shape and row-major values (written as float32, or float64 for NumPy).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl Tensor {
    /// A tensor from float32 values; panics when `values` does not fill `shape`.
    pub fn from_f32(shape: &[usize], values: &[f32]) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "shape {shape:?} does not hold {} values",
            values.len()
        );
        Self {
            shape: shape.to_vec(),
            values: values.iter().map(|&v| f64::from(v)).collect(),
        }
    }
}

/// A modern `torch.save(state_dict)` of float32 tensors: a ZIP of stored (uncompressed) entries
/// under `<archive>/` (`torch.save` names it after the file, or `archive` for a file object):
/// `data.pkl`, `byteorder`, one raw little-endian storage per tensor in `data/<key>`, `version`
/// and `.data/version`. Storages start on 64-byte boundaries, as PyTorch writes them.
pub fn zip_state_dict(tensors: &[(String, Tensor)], archive: &str) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut entry = |name: &str, bytes: &[u8], options: SimpleFileOptions| {
        let name = format!("{archive}/{name}");
        zip.start_file(name.as_str(), options)
            .unwrap_or_else(|e| panic!("zip entry {name}: {e}"));
        zip.write_all(bytes)
            .unwrap_or_else(|e| panic!("zip entry {name}: {e}"));
    };
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    entry("data.pkl", &state_dict_pickle(tensors, false), stored);
    entry("byteorder", b"little", stored);
    for (key, (_, tensor)) in tensors.iter().enumerate() {
        entry(
            &format!("data/{key}"),
            &f32_bytes(&tensor.values),
            stored.with_alignment(64),
        );
    }
    entry("version", b"3\n", stored);
    entry(".data/version", b"3\n", stored);
    zip.finish().expect("finish zip").into_inner()
}

/// A legacy `torch.save(state_dict)` of float32 tensors: magic number, protocol version and
/// system-info pickles, the state-dict pickle, the storage-key list pickle, then each storage as
/// its element count (i64) and its little-endian values.
pub fn legacy_state_dict(tensors: &[(String, Tensor)]) -> Vec<u8> {
    let mut out = legacy_header();
    out.extend(state_dict_pickle(tensors, true));
    let mut keys = Pickle::new();
    keys.raw(b"](");
    for key in 0..tensors.len() {
        keys.str(&key.to_string());
    }
    keys.raw(b"e");
    out.extend(keys.finish());
    for (_, tensor) in tensors {
        out.extend_from_slice(&(tensor.values.len() as i64).to_le_bytes());
        out.extend(f32_bytes(&tensor.values));
    }
    out
}

/// A legacy `torch.save({name: numpy.ndarray(float64)})`, pickled as NumPy 1.x does.
pub fn legacy_numpy_dict(arrays: &[(&str, &Tensor)]) -> Vec<u8> {
    let mut out = legacy_header();
    let mut p = Pickle::new();
    p.raw(b"}(");
    for (name, array) in arrays {
        p.str(name);
        p.global("numpy.core.multiarray", "_reconstruct");
        p.global("numpy", "ndarray");
        p.raw(b"K\x00\x85");
        p.latin1_bytes(b"b");
        p.raw(b"\x87R(K\x01");
        p.tuple(&array.shape);
        p.global("numpy", "dtype");
        p.str("f8");
        p.raw(b"\x89\x88\x87R(K\x03");
        p.str("<");
        p.raw(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89");
        let data: Vec<u8> = array.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        p.latin1_bytes(&data);
        p.raw(b"tb");
    }
    p.raw(b"u");
    out.extend(p.finish());
    out.extend_from_slice(b"\x80\x02].");
    out
}

/// Magic number, protocol version and system-info pickles that open every legacy file.
fn legacy_header() -> Vec<u8> {
    let mut out = Vec::new();
    // 0x1950a86a20f9469cfc6c as LONG1
    out.extend_from_slice(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
    out.extend_from_slice(b"\x80\x02M\xe9\x03.");
    let mut p = Pickle::new();
    p.raw(b"}(");
    p.str("protocol_version");
    p.int(1001);
    p.str("little_endian");
    p.raw(b"\x88");
    p.str("type_sizes");
    p.raw(b"}(");
    for (k, v) in [("short", 2), ("int", 4), ("long", 4)] {
        p.str(k);
        p.int(v);
    }
    p.raw(b"uu");
    out.extend(p.finish());
    out
}

/// The state-dict pickle: an `OrderedDict` of `torch._utils._rebuild_tensor_v2(storage, 0,
/// shape, contiguous stride, False, OrderedDict())`, storage `i` being the persistent id
/// `('storage', torch.FloatStorage, 'i', 'cpu', numel)` (legacy files append a `None` view).
fn state_dict_pickle(tensors: &[(String, Tensor)], legacy: bool) -> Vec<u8> {
    let mut p = Pickle::new();
    p.global("collections", "OrderedDict");
    p.raw(b")R(");
    for (key, (name, tensor)) in tensors.iter().enumerate() {
        p.str(name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.raw(b"((");
        p.str("storage");
        p.global("torch", "FloatStorage");
        p.str(&key.to_string());
        p.str("cpu");
        p.int(tensor.values.len() as i64);
        if legacy {
            p.raw(b"N");
        }
        p.raw(b"tQ");
        p.int(0);
        p.tuple(&tensor.shape);
        let mut stride = vec![1usize; tensor.shape.len()];
        for d in (0..tensor.shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * tensor.shape[d + 1];
        }
        p.tuple(&stride);
        p.raw(b"\x89");
        p.global("collections", "OrderedDict");
        p.raw(b")RtR");
    }
    p.raw(b"u");
    p.finish()
}

fn f32_bytes(values: &[f64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| (v as f32).to_le_bytes())
        .collect()
}

/// A protocol-2 pickle under construction (no memo).
struct Pickle(Vec<u8>);

impl Pickle {
    fn new() -> Self {
        Self(b"\x80\x02".to_vec())
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn str(&mut self, s: &str) {
        self.0.push(b'X');
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, v: i64) {
        self.0.push(b'J');
        self.0.extend_from_slice(&(v as i32).to_le_bytes());
    }

    fn global(&mut self, module: &str, name: &str) {
        self.0.push(b'c');
        self.0
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }

    fn tuple(&mut self, values: &[usize]) {
        self.0.push(b'(');
        for &v in values {
            self.int(v as i64);
        }
        self.0.push(b't');
    }

    /// Python 3 bytes at protocol 2: `_codecs.encode(<latin-1 text>, "latin1")`.
    fn latin1_bytes(&mut self, bytes: &[u8]) {
        self.global("_codecs", "encode");
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        self.str(&text);
        self.str("latin1");
        self.raw(b"\x86R");
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.push(b'.');
        self.0
    }
}
