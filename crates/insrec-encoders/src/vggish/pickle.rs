//! A minimal pickle reader for what `torch.save` writes around NumPy arrays: torchvggish's
//! `vggish_pca_params-970ea276.pth` is a dict of NumPy arrays, which PyTorch checkpoint readers
//! (burn's included) cannot return as tensors.
//!
//! Only plain data, globals, `REDUCE`/`BUILD` and the memo are interpreted; any other object is
//! kept as an [`Value::Object`] so its shape can be inspected. Persistent ids (tensor storages)
//! are refused: a file holding tensors is read with [`super::tensor_file`] instead.

use std::collections::HashMap;
use std::io::{Cursor, Read};

/// A Python value as far as this reader understands it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global {
        module: String,
        name: String,
    },
    /// `callable(*args)`, then `BUILD` with `state` if there was one.
    Object {
        callable: Box<Value>,
        args: Box<Value>,
        state: Option<Box<Value>>,
    },
}

impl Value {
    fn nodes(&self) -> usize {
        match self {
            Self::Tuple(v) | Self::List(v) => 1 + v.iter().map(Value::nodes).sum::<usize>(),
            Self::Dict(v) => 1 + v.iter().map(|(k, v)| k.nodes() + v.nodes()).sum::<usize>(),
            Self::Object {
                callable,
                args,
                state,
            } => 1 + callable.nodes() + args.nodes() + state.as_ref().map_or(0, |s| s.nodes()),
            Self::Bytes(b) => 1 + b.len() / 64,
            Self::Str(s) => 1 + s.len() / 64,
            _ => 1,
        }
    }

    /// Whether this is the global `module.name` (NumPy 2 renamed `numpy.core` to `numpy._core`).
    pub(crate) fn is_global(&self, module: &str, name: &str) -> bool {
        matches!(self, Self::Global { module: m, name: n }
            if n == name && (m == module || m.replace("numpy._core", "numpy.core") == module))
    }
}

/// The object `torch.save` stored in `bytes`: a zip archive (`*/data.pkl`), the legacy
/// container (magic, protocol and system-info pickles first) or a plain pickle.
pub(crate) fn load_saved_object(bytes: &[u8]) -> Result<Value, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("zip archive: {e}"))?;
        let name = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .find(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
            .ok_or("zip archive without data.pkl")?;
        let mut entry = archive.by_name(&name).map_err(|e| format!("{name}: {e}"))?;
        let mut pickle = Vec::new();
        entry
            .read_to_end(&mut pickle)
            .map_err(|e| format!("{name}: {e}"))?;
        return Ok(Unpickler::new(&pickle).run()?.0);
    }
    let (first, mut offset) = Unpickler::new(bytes).run()?;
    if !is_legacy_magic(&first) {
        return Ok(first);
    }
    // protocol version (1001) and system info precede the object
    for _ in 0..2 {
        offset += Unpickler::new(&bytes[offset..]).run()?.1;
    }
    Ok(Unpickler::new(&bytes[offset..]).run()?.0)
}

/// `torch.save`'s legacy magic number 0x1950a86a20f9469cfc6c, read as an int too wide for i64.
fn is_legacy_magic(value: &Value) -> bool {
    matches!(value, Value::Bytes(b) if b.as_slice() == LEGACY_MAGIC)
}

const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Upper bound on values copied out of the memo (guards against memo bombs).
const COPY_BUDGET: usize = 50_000_000;

/// A stack slot: a value, or a mark; and the memo slot the value is stored at, so that a
/// later `BUILD`, `SETITEMS` or `APPENDS` on it is seen by later memo fetches.
enum Slot {
    Mark,
    Value(Value, Option<u32>),
}

struct Unpickler<'a> {
    input: Cursor<&'a [u8]>,
    stack: Vec<Slot>,
    memo: HashMap<u32, Value>,
    copied: usize,
}

impl<'a> Unpickler<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            input: Cursor::new(bytes),
            stack: Vec::new(),
            memo: HashMap::new(),
            copied: 0,
        }
    }

    /// Runs to `STOP`: the value and the bytes consumed.
    fn run(mut self) -> Result<(Value, usize), String> {
        loop {
            let op = self.byte()?;
            match op {
                b'.' => {
                    let value = self.pop()?;
                    return Ok((value, self.input.position() as usize));
                }
                0x80 => {
                    self.byte()?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'(' => self.stack.push(Slot::Mark),
                b'0' => {
                    self.pop_slot()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.peek()?.clone();
                    self.push(top);
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(v.into()));
                }
                0x8a => {
                    let n = usize::from(self.byte()?);
                    let bytes = self.take(n)?;
                    self.push(long_value(bytes));
                }
                b'I' | b'L' => {
                    let line = self.line()?;
                    let text = line.trim_end_matches('L');
                    let value = match text {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        _ => Value::Int(text.parse().map_err(|_| format!("bad int {line:?}"))?),
                    };
                    self.push(value);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.push(Value::Float(v));
                }
                b'F' => {
                    let line = self.line()?;
                    let v = line.parse().map_err(|_| format!("bad float {line:?}"))?;
                    self.push(Value::Float(v));
                }
                // Python 2 `str` holds bytes; NumPy array data in a py2 pickle is one.
                b'U' | b'C' => {
                    let n = usize::from(self.byte()?);
                    let bytes = self.take(n)?.to_vec();
                    self.push(Value::Bytes(bytes));
                }
                b'T' | b'B' => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let bytes = self.take(n)?.to_vec();
                    self.push(Value::Bytes(bytes));
                }
                0x8e | 0x96 => {
                    let n = self.len8()?;
                    let bytes = self.take(n)?.to_vec();
                    self.push(Value::Bytes(bytes));
                }
                0x8c => {
                    let n = usize::from(self.byte()?);
                    let s = self.utf8(n)?;
                    self.push(Value::Str(s));
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let s = self.utf8(n)?;
                    self.push(Value::Str(s));
                }
                0x8d => {
                    let n = self.len8()?;
                    let s = self.utf8(n)?;
                    self.push(Value::Str(s));
                }
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                    items.reverse();
                    self.push(Value::Tuple(items));
                }
                b']' => self.push(Value::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items));
                }
                b'a' => {
                    let item = self.pop()?;
                    self.extend_top(vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend_top(items)?;
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(pairs(items)?));
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.extend_top(vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.extend_top(items)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global { module, name });
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            self.push(Value::Global { module, name })
                        }
                        _ => return Err("STACK_GLOBAL without two strings".into()),
                    }
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.push(reduce(callable, args));
                }
                b'b' => {
                    let state = self.pop()?;
                    let (value, memo) = self.pop_with_memo()?;
                    let built = match value {
                        Value::Object { callable, args, .. } => Value::Object {
                            callable,
                            args,
                            state: Some(Box::new(state)),
                        },
                        other => other,
                    };
                    if let Some(index) = memo {
                        self.memo.insert(index, built.clone());
                    }
                    self.stack.push(Slot::Value(built, memo));
                }
                b'q' => {
                    let index = self.byte()?.into();
                    self.memo_put(index)?;
                }
                b'r' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_put(index)?;
                }
                0x94 => {
                    let index = self.memo.len() as u32;
                    self.memo_put(index)?;
                }
                b'p' => {
                    let line = self.line()?;
                    let index = line
                        .parse()
                        .map_err(|_| format!("bad memo index {line:?}"))?;
                    self.memo_put(index)?;
                }
                b'h' => {
                    let index = self.byte()?.into();
                    self.memo_get(index)?;
                }
                b'j' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_get(index)?;
                }
                b'g' => {
                    let line = self.line()?;
                    let index = line
                        .parse()
                        .map_err(|_| format!("bad memo index {line:?}"))?;
                    self.memo_get(index)?;
                }
                b'Q' | b'P' => {
                    return Err("the pickle references tensor storages (persistent ids)".into());
                }
                other => return Err(format!("unsupported pickle opcode 0x{other:02x}")),
            }
        }
    }

    fn push(&mut self, value: Value) {
        self.stack.push(Slot::Value(value, None));
    }

    fn pop_slot(&mut self) -> Result<Slot, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    fn pop_with_memo(&mut self) -> Result<(Value, Option<u32>), String> {
        match self.pop_slot()? {
            Slot::Value(v, memo) => Ok((v, memo)),
            Slot::Mark => Err("unexpected mark on the pickle stack".into()),
        }
    }

    fn pop(&mut self) -> Result<Value, String> {
        Ok(self.pop_with_memo()?.0)
    }

    fn peek(&self) -> Result<&Value, String> {
        match self.stack.last() {
            Some(Slot::Value(v, _)) => Ok(v),
            _ => Err("pickle stack underflow".into()),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            match self.pop_slot()? {
                Slot::Mark => break,
                Slot::Value(v, _) => items.push(v),
            }
        }
        items.reverse();
        Ok(items)
    }

    /// Appends to the list, or sets key/value pairs in the dict, on top of the stack.
    fn extend_top(&mut self, items: Vec<Value>) -> Result<(), String> {
        let Some(Slot::Value(top, memo)) = self.stack.last_mut() else {
            return Err("nothing to append to".into());
        };
        match top {
            Value::List(list) => list.extend(items),
            Value::Dict(dict) => dict.extend(pairs(items)?),
            _ => return Err("append to a value that is neither list nor dict".into()),
        }
        if let Some(index) = *memo {
            let copy = top.clone();
            self.memo.insert(index, copy);
        }
        Ok(())
    }

    fn memo_put(&mut self, index: u32) -> Result<(), String> {
        let Some(Slot::Value(top, memo)) = self.stack.last_mut() else {
            return Err("memoize with an empty stack".into());
        };
        *memo = Some(index);
        let copy = top.clone();
        self.memo.insert(index, copy);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Result<(), String> {
        let value = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| format!("memo index {index} was never set"))?;
        self.copied += value.nodes();
        if self.copied > COPY_BUDGET {
            return Err("pickle copies too much from its memo".into());
        }
        self.stack.push(Slot::Value(value, Some(index)));
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        self.input
            .read_exact(&mut out)
            .map_err(|_| "pickle ends early".to_owned())?;
        Ok(out)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let data: &'a [u8] = self.input.get_ref();
        let start = self.input.position() as usize;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= data.len())
            .ok_or("pickle ends early")?;
        self.input.set_position(end as u64);
        Ok(&data[start..end])
    }

    fn len8(&mut self) -> Result<usize, String> {
        usize::try_from(u64::from_le_bytes(self.array()?)).map_err(|_| "length too large".into())
    }

    fn utf8(&mut self, n: usize) -> Result<String, String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "string is not UTF-8".into())
    }

    fn line(&mut self) -> Result<String, String> {
        let data: &'a [u8] = self.input.get_ref();
        let start = self.input.position() as usize;
        let len = data[start.min(data.len())..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated line in pickle")?;
        let line = self.take(len)?;
        self.take(1)?;
        String::from_utf8(line.to_vec()).map_err(|_| "line is not UTF-8".into())
    }
}

/// `LONG1` bytes: an i64 when it fits, else the raw little-endian bytes.
fn long_value(bytes: &[u8]) -> Value {
    if bytes.len() <= 8 {
        let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut buf = [fill; 8];
        buf[..bytes.len()].copy_from_slice(bytes);
        Value::Int(i64::from_le_bytes(buf))
    } else {
        Value::Bytes(bytes.to_vec())
    }
}

/// Interprets the one call needed for data: `_codecs.encode(text, "latin1")`, which is how
/// protocol 2 spells `bytes` in Python 3. Everything else stays an [`Value::Object`].
fn reduce(callable: Value, args: Value) -> Value {
    if callable.is_global("_codecs", "encode")
        && let Value::Tuple(items) = &args
        && let [Value::Str(text), Value::Str(encoding)] = items.as_slice()
        && matches!(encoding.as_str(), "latin1" | "latin-1")
        && let Ok(bytes) = text.chars().map(|c| u8::try_from(u32::from(c))).collect()
    {
        return Value::Bytes(bytes);
    }
    Value::Object {
        callable: Box::new(callable),
        args: Box::new(args),
        state: None,
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// A NumPy array decoded from its pickle (`numpy.core.multiarray._reconstruct` + `BUILD`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NdArray {
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f64>,
}

impl NdArray {
    /// Decodes `value` if it is a pickled float32/float64 NumPy array.
    pub(crate) fn from_pickle(value: &Value) -> Result<Self, String> {
        let Value::Object {
            callable,
            state: Some(state),
            ..
        } = value
        else {
            return Err("not a NumPy array".into());
        };
        if !callable.is_global("numpy.core.multiarray", "_reconstruct") {
            return Err("not a NumPy array".into());
        }
        let Value::Tuple(fields) = state.as_ref() else {
            return Err("NumPy array state is not a tuple".into());
        };
        let [_, Value::Tuple(dims), dtype, fortran, data] = fields.as_slice() else {
            return Err("NumPy array state has an unexpected layout".into());
        };
        let shape = dims
            .iter()
            .map(|d| match d {
                Value::Int(n) => usize::try_from(*n).map_err(|_| "negative dimension".to_owned()),
                _ => Err("dimension is not an int".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fortran = matches!(fortran, Value::Bool(true) | Value::Int(1));
        let descr = dtype_descr(dtype)?;
        let Value::Bytes(bytes) = data else {
            return Err("NumPy array data is not bytes".into());
        };
        decode_array(&descr, shape, fortran, bytes)
    }
}

/// `numpy.dtype("f8", ...)` with its `BUILD` state `(3, "<", ...)` → `"<f8"`.
fn dtype_descr(dtype: &Value) -> Result<String, String> {
    let Value::Object {
        callable,
        args,
        state,
    } = dtype
    else {
        return Err("NumPy dtype is not an object".into());
    };
    if !callable.is_global("numpy", "dtype") {
        return Err("NumPy dtype is not numpy.dtype".into());
    }
    let Value::Tuple(args) = args.as_ref() else {
        return Err("NumPy dtype arguments are not a tuple".into());
    };
    let Some(Value::Str(kind)) = args.first() else {
        return Err("NumPy dtype without a type code".into());
    };
    let order = match state.as_deref() {
        Some(Value::Tuple(s)) => match s.get(1) {
            Some(Value::Str(o)) => o.clone(),
            _ => "<".into(),
        },
        _ => "<".into(),
    };
    Ok(format!("{order}{kind}"))
}

/// Raw bytes of a NumPy array with type `descr` (`<f4`, `<f8`, `>f8`, …) → row-major f64.
pub(crate) fn decode_array(
    descr: &str,
    shape: Vec<usize>,
    fortran: bool,
    bytes: &[u8],
) -> Result<NdArray, String> {
    let (order, kind) = descr.split_at(1.min(descr.len()));
    let big = match order {
        "<" | "=" | "|" => false,
        ">" => true,
        _ => return Err(format!("unsupported NumPy dtype {descr:?}")),
    };
    let width = match kind {
        "f4" => 4,
        "f8" => 8,
        _ => {
            return Err(format!(
                "unsupported NumPy dtype {descr:?} (float32/float64 only)"
            ));
        }
    };
    let count: usize = shape.iter().product();
    if bytes.len() != count * width {
        return Err(format!(
            "array {shape:?} of {descr} needs {} bytes, has {}",
            count * width,
            bytes.len()
        ));
    }
    let mut values: Vec<f64> = bytes
        .chunks_exact(width)
        .map(|c| {
            let mut b = c.to_vec();
            if big {
                b.reverse();
            }
            match *b.as_slice() {
                [a0, a1, a2, a3] => f64::from(f32::from_le_bytes([a0, a1, a2, a3])),
                [a0, a1, a2, a3, a4, a5, a6, a7] => {
                    f64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7])
                }
                _ => f64::NAN,
            }
        })
        .collect();
    if fortran && shape.len() > 1 {
        values = fortran_to_row_major(&values, &shape);
    }
    Ok(NdArray { shape, values })
}

/// Reorders column-major (first index fastest) values into row-major order.
fn fortran_to_row_major(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    let mut index = vec![0usize; shape.len()];
    for &v in values {
        let row_major = index.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i);
        out[row_major] = v;
        for (i, &d) in index.iter_mut().zip(shape) {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps({"a": numpy.array([1.5, -2.0])}, protocol=2)` under Python 3 / NumPy 1.x.
    const NUMPY_DICT: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85q\x04c_codecs\nencode\nq\x05X\x01\x00\x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\nRq\x0b(K\x01K\x02\x85q\x0ccnumpy\ndtype\nq\x0dX\x02\x00\x00\x00f8q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x12\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\xb8?\x00\x00\x00\x00\x00\x00\x00\xc3\x80q\x13h\x07\x86q\x14Rq\x15tq\x16bs.";

    #[test]
    fn reads_a_numpy_array_from_a_protocol_2_pickle() {
        let value = load_saved_object(NUMPY_DICT).expect("pickle parses");
        let Value::Dict(items) = value else {
            panic!("not a dict: {value:?}")
        };
        assert_eq!(items[0].0, Value::Str("a".into()));
        let array = NdArray::from_pickle(&items[0].1).expect("array");
        assert_eq!(array.shape, [2]);
        assert_eq!(array.values, [1.5, -2.0]);
    }

    #[test]
    fn fortran_order_is_reordered() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major
        let out = fortran_to_row_major(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], &[2, 3]);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn persistent_ids_are_refused() {
        let err = load_saved_object(b"\x80\x02X\x01\x00\x00\x00aQ.").expect_err("refused");
        assert!(err.contains("persistent"), "{err}");
    }
}
