//! `torch.save` in the legacy container (PyTorch ≤ 1.5, as the 2019 torchvggish files were
//! written), pickle protocol 2: a state dict of float32 tensors, or a dict of NumPy arrays.

use super::Weight;

/// Magic number, protocol version and system-info pickles that open every legacy file.
fn header() -> Vec<u8> {
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

/// A legacy `torch.save(state_dict)` of float32 tensors.
pub fn state_dict(tensors: &[(String, Weight)]) -> Vec<u8> {
    let mut out = header();
    let mut p = Pickle::new();
    p.global("collections", "OrderedDict");
    p.raw(b")R(");
    for (key, (name, weight)) in tensors.iter().enumerate() {
        let numel: usize = weight.shape.iter().product();
        p.str(name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.raw(b"((");
        p.str("storage");
        p.global("torch", "FloatStorage");
        p.str(&key.to_string());
        p.str("cpu");
        p.int(numel as i64);
        p.raw(b"NtQ");
        p.int(0);
        p.tuple(&weight.shape);
        let mut stride = vec![1usize; weight.shape.len()];
        for d in (0..weight.shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * weight.shape[d + 1];
        }
        p.tuple(&stride);
        p.raw(b"\x89");
        p.global("collections", "OrderedDict");
        p.raw(b")RtR");
    }
    p.raw(b"u");
    out.extend(p.finish());
    let mut keys = Pickle::new();
    keys.raw(b"](");
    for key in 0..tensors.len() {
        keys.str(&key.to_string());
    }
    keys.raw(b"e");
    out.extend(keys.finish());
    for (_, weight) in tensors {
        out.extend_from_slice(&(weight.values.len() as i64).to_le_bytes());
        for &v in &weight.values {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        }
    }
    out
}

/// A legacy `torch.save({name: numpy.ndarray(float64)})`, pickled as NumPy 1.x does.
pub fn numpy_dict(arrays: &[(&str, &Weight)]) -> Vec<u8> {
    let mut out = header();
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
