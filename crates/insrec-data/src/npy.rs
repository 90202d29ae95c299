//! A small `.npy` reader (format versions 1 to 3) for the dtypes OpenMIC files use: bool, integers,
//! float32/64, fixed-width unicode (`<U15`) and pickled object arrays of strings.
//!
//! The payload size is checked against the header before anything is allocated.

use std::io::Read;

use crate::error::FormatError;
use crate::pickle;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Real headers are 128 to a few hundred bytes; anything far larger is not an array we wrote.
const MAX_HEADER_LEN: usize = 64 * 1024;
/// Bytes decoded per read when converting items.
const CHUNK_BYTES: usize = 1 << 20;
/// Longest fixed-width string accepted (`<U4096`); OpenMIC keys are `<U15`.
const MAX_UNICODE_CHARS: usize = 4096;
/// Items reserved up front; the rest grows as data actually arrives (sizes in a zip directory may lie).
const MAX_RESERVE_ITEMS: usize = 1 << 20;

/// Byte order of a multi-byte dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// The element type of an array (`descr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    Bool,
    Int {
        bytes: usize,
        signed: bool,
        endian: Endian,
    },
    Float {
        bytes: usize,
        endian: Endian,
    },
    /// Fixed-width UTF-32 strings of `chars` code units, NUL-padded.
    Unicode {
        chars: usize,
        endian: Endian,
    },
    /// Pickled Python objects.
    Object,
}

impl Dtype {
    /// Parses a NumPy `descr` such as `<i8`, `|b1`, `<U15` or `|O`.
    pub fn parse(descr: &str) -> Result<Self, FormatError> {
        let unsupported = || FormatError::UnsupportedDtype {
            descr: descr.to_owned(),
        };
        let mut chars = descr.chars();
        let endian = match chars.next() {
            Some('<' | '|' | '=') => Endian::Little,
            Some('>') => Endian::Big,
            _ => return Err(unsupported()),
        };
        let kind = chars.next().ok_or_else(unsupported)?;
        let size = chars.as_str();
        let number = || size.parse::<usize>().map_err(|_| unsupported());
        let dtype = match kind {
            'O' if size.is_empty() || size == "8" => Self::Object,
            'b' if size == "1" => Self::Bool,
            'i' | 'u' if matches!(size, "1" | "2" | "4" | "8") => Self::Int {
                bytes: number()?,
                signed: kind == 'i',
                endian,
            },
            'f' if matches!(size, "4" | "8") => Self::Float {
                bytes: number()?,
                endian,
            },
            'U' => match number()? {
                chars @ 1..=MAX_UNICODE_CHARS => Self::Unicode { chars, endian },
                _ => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        };
        Ok(dtype)
    }

    /// Bytes per item in the payload (`None` for pickled objects).
    pub fn item_size(self) -> Option<usize> {
        match self {
            Self::Bool => Some(1),
            Self::Int { bytes, .. } | Self::Float { bytes, .. } => Some(bytes),
            Self::Unicode { chars, .. } => Some(chars * 4),
            Self::Object => None,
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(self, Self::Int { .. })
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::Float { .. })
    }
}

/// An opened `.npy` stream: the parsed header, with the reader positioned at the data.
pub struct NpyReader<R> {
    /// The `descr` text, for messages.
    pub descr: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Number of items (product of the shape).
    pub count: usize,
    reader: R,
    /// Bytes of data after the header.
    data_len: u64,
}

impl<R: Read> NpyReader<R> {
    /// Reads and checks the header of an `.npy` stream of `total_len` bytes.
    pub fn new(mut reader: R, total_len: u64) -> Result<Self, FormatError> {
        let mut preamble = [0u8; 8];
        reader
            .read_exact(&mut preamble)
            .map_err(|_| FormatError::BadMagic)?;
        if &preamble[..6] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let (major, minor) = (preamble[6], preamble[7]);
        let len_bytes = match major {
            1 => 2,
            2 | 3 => 4,
            _ => return Err(FormatError::UnsupportedVersion { major, minor }),
        };
        let mut raw_len = [0u8; 4];
        reader
            .read_exact(&mut raw_len[..len_bytes])
            .map_err(|_| FormatError::TruncatedHeader)?;
        let header_len = u32::from_le_bytes(raw_len) as usize;
        if header_len > MAX_HEADER_LEN {
            return Err(FormatError::HeaderTooLong {
                len: header_len,
                limit: MAX_HEADER_LEN,
            });
        }
        let mut header = vec![0u8; header_len];
        reader
            .read_exact(&mut header)
            .map_err(|_| FormatError::TruncatedHeader)?;
        let header = String::from_utf8_lossy(&header).into_owned();
        let fields = HeaderFields::parse(&header)?;
        if fields.fortran_order {
            return Err(FormatError::FortranOrder);
        }
        let dtype = Dtype::parse(&fields.descr)?;
        let used = (8 + len_bytes + header_len) as u64;
        let data_len = total_len
            .checked_sub(used)
            .ok_or(FormatError::TruncatedHeader)?;
        let shape = fields.shape;
        let overflow = || FormatError::ShapeOverflow {
            shape: shape.clone(),
        };
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?;
        if let Some(item_size) = dtype.item_size() {
            let expected = count.checked_mul(item_size).ok_or_else(overflow)? as u64;
            if expected != data_len {
                return Err(FormatError::DataSize {
                    expected,
                    found: data_len,
                });
            }
        }
        Ok(Self {
            descr: fields.descr,
            dtype,
            shape,
            count,
            reader,
            data_len,
        })
    }

    /// Numeric items (integer or float dtypes) converted to `f32`.
    pub fn read_f32(self) -> Result<Vec<f32>, FormatError> {
        match self.dtype {
            Dtype::Int {
                bytes,
                signed,
                endian,
            } => self.decode(bytes, |b| int_value(b, signed, endian) as f32),
            Dtype::Float { bytes, endian } => self.decode(bytes, |b| float_value(b, endian) as f32),
            _ => Err(FormatError::UnsupportedDtype { descr: self.descr }),
        }
    }

    /// Float items converted to `f64`.
    pub fn read_f64(self) -> Result<Vec<f64>, FormatError> {
        match self.dtype {
            Dtype::Float { bytes, endian } => self.decode(bytes, |b| float_value(b, endian)),
            _ => Err(FormatError::UnsupportedDtype { descr: self.descr }),
        }
    }

    /// Bool items (any non-zero byte is true).
    pub fn read_bool(self) -> Result<Vec<bool>, FormatError> {
        match self.dtype {
            Dtype::Bool => self.decode(1, |b| b[0] != 0),
            _ => Err(FormatError::UnsupportedDtype { descr: self.descr }),
        }
    }

    /// String items of a `<U` array or a pickled object array of `str`.
    pub fn read_strings(mut self) -> Result<Vec<String>, FormatError> {
        match self.dtype {
            Dtype::Unicode { chars, endian } => {
                let mut index = 0;
                self.decode(chars * 4, |b| {
                    let text = utf32_string(b, endian).ok_or(FormatError::BadUnicode { index });
                    index += 1;
                    text
                })?
                .into_iter()
                .collect()
            }
            Dtype::Object => {
                let count = self.count;
                let mut payload = Vec::new();
                (&mut self.reader)
                    .take(self.data_len)
                    .read_to_end(&mut payload)?;
                if payload.len() as u64 != self.data_len {
                    return Err(FormatError::DataSize {
                        expected: self.data_len,
                        found: payload.len() as u64,
                    });
                }
                Ok(pickle::object_array_strings(&payload, count)?)
            }
            _ => Err(FormatError::UnsupportedDtype { descr: self.descr }),
        }
    }

    /// Reads every item in chunks and converts each with `convert`.
    fn decode<T>(
        mut self,
        item_size: usize,
        mut convert: impl FnMut(&[u8]) -> T,
    ) -> Result<Vec<T>, FormatError> {
        let chunk_items = (CHUNK_BYTES / item_size).clamp(1, self.count.max(1));
        let mut out = Vec::with_capacity(self.count.min(MAX_RESERVE_ITEMS));
        let mut buffer = vec![0u8; item_size * chunk_items];
        let mut left = self.count;
        while left > 0 {
            let items = left.min(chunk_items);
            let chunk = &mut buffer[..items * item_size];
            self.reader.read_exact(chunk)?;
            out.extend(chunk.chunks_exact(item_size).map(&mut convert));
            left -= items;
        }
        Ok(out)
    }
}

/// An integer item of 1 to 8 bytes, widened without loss.
fn int_value(bytes: &[u8], signed: bool, endian: Endian) -> i128 {
    let width = bytes.len().min(8);
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(&bytes[..width]);
    if endian == Endian::Big {
        le[..width].reverse();
    }
    let negative = signed && le[width.saturating_sub(1)] & 0x80 != 0;
    if negative {
        le[width..].fill(0xff);
        i128::from(i64::from_le_bytes(le))
    } else {
        i128::from(u64::from_le_bytes(le))
    }
}

fn float_value(bytes: &[u8], endian: Endian) -> f64 {
    let width = bytes.len().min(8);
    let mut raw = [0u8; 8];
    raw[..width].copy_from_slice(&bytes[..width]);
    let raw = &mut raw[..width];
    if endian == Endian::Big {
        raw.reverse();
    }
    match *raw {
        [a, b, c, d] => f64::from(f32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => f64::NAN,
    }
}

/// A NUL-padded UTF-32 item; `None` when a code unit is not a Unicode scalar value.
fn utf32_string(bytes: &[u8], endian: Endian) -> Option<String> {
    bytes
        .chunks_exact(4)
        .map(|c| {
            let unit = [c[0], c[1], c[2], c[3]];
            match endian {
                Endian::Little => u32::from_le_bytes(unit),
                Endian::Big => u32::from_be_bytes(unit),
            }
        })
        .take_while(|&unit| unit != 0)
        .map(char::from_u32)
        .collect()
}

/// The three keys of an `.npy` header dict.
#[derive(Debug, PartialEq)]
struct HeaderFields {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl HeaderFields {
    /// Parses `{'descr': '<i8', 'fortran_order': False, 'shape': (40, 10, 128), }`.
    fn parse(header: &str) -> Result<Self, FormatError> {
        let malformed = || FormatError::MalformedHeader {
            header: header.chars().take(200).collect(),
        };
        let mut text = Cursor(header.trim_end());
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        text.expect('{').ok_or_else(malformed)?;
        while !text.eat('}') {
            let key = text.quoted().ok_or_else(malformed)?;
            text.expect(':').ok_or_else(malformed)?;
            match key {
                "descr" => descr = Some(text.quoted().ok_or_else(malformed)?.to_owned()),
                "fortran_order" => fortran_order = Some(text.boolean().ok_or_else(malformed)?),
                "shape" => shape = Some(text.tuple().ok_or_else(malformed)?),
                _ => return Err(malformed()),
            }
            if !text.eat(',') {
                text.expect('}').ok_or_else(malformed)?;
                break;
            }
        }
        if !text.0.trim().is_empty() {
            return Err(malformed());
        }
        match (descr, fortran_order, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Self {
                descr,
                fortran_order,
                shape,
            }),
            _ => Err(malformed()),
        }
    }
}

/// Just enough of a Python-literal tokenizer for `.npy` headers.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        self.0 = self.0.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        match self.0.strip_prefix(c) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn quoted(&mut self) -> Option<&'a str> {
        self.skip_space();
        let quote = self.0.chars().next().filter(|q| *q == '\'' || *q == '"')?;
        let rest = &self.0[1..];
        let end = rest.find(quote)?;
        self.0 = &rest[end + 1..];
        Some(&rest[..end])
    }

    fn boolean(&mut self) -> Option<bool> {
        self.skip_space();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.0.strip_prefix(word) {
                self.0 = rest;
                return Some(value);
            }
        }
        None
    }

    fn tuple(&mut self) -> Option<Vec<usize>> {
        self.expect('(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(')') {
                return Some(dims);
            }
            self.skip_space();
            let digits = self
                .0
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(self.0.len());
            dims.push(self.0[..digits].parse().ok()?);
            self.0 = &self.0[digits..];
            self.eat('L'); // Python 2 long suffix
            if !self.eat(',') {
                self.expect(')')?;
                return Some(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out
    }

    fn open(bytes: &[u8]) -> Result<NpyReader<&[u8]>, FormatError> {
        NpyReader::new(bytes, bytes.len() as u64)
    }

    #[test]
    fn parses_header_variants() {
        let fields = HeaderFields::parse(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (40, 10, 128), }  \n",
        );
        let expected = HeaderFields {
            descr: "<i8".into(),
            fortran_order: false,
            shape: vec![40, 10, 128],
        };
        assert_eq!(fields.ok(), Some(expected));
        let fields =
            HeaderFields::parse("{\"shape\": (3L,), \"descr\": \"|O\", \"fortran_order\": True}");
        assert_eq!(
            fields.map(|f| (f.shape, f.fortran_order)).ok(),
            Some((vec![3], true))
        );
        assert_eq!(
            HeaderFields::parse("{'descr': '<f8', 'fortran_order': False, 'shape': (), }")
                .ok()
                .map(|f| f.shape),
            Some(vec![])
        );
        for bad in [
            "",
            "{",
            "{'descr': '<i8'}",
            "{'descr': <i8, 'fortran_order': False, 'shape': (1,)}",
            "{'shape': (1,2,x)}",
        ] {
            assert!(
                HeaderFields::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn decodes_integers_of_every_width_and_order() {
        let le: Vec<u8> = [-2i16, 300].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            open(&npy("<i2", "(2,)", &le))
                .and_then(NpyReader::read_f32)
                .ok(),
            Some(vec![-2.0, 300.0])
        );
        let be: Vec<u8> = [-2i64, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(
            open(&npy(">i8", "(2,)", &be))
                .and_then(NpyReader::read_f32)
                .ok(),
            Some(vec![-2.0, 7.0])
        );
        assert_eq!(
            open(&npy("|u1", "(2,)", &[0, 255]))
                .and_then(NpyReader::read_f32)
                .ok(),
            Some(vec![0.0, 255.0])
        );
        let u4: Vec<u8> = 4_000_000_000u32.to_le_bytes().to_vec();
        assert_eq!(
            open(&npy("<u4", "(1,)", &u4))
                .and_then(NpyReader::read_f32)
                .ok(),
            Some(vec![4e9])
        );
    }

    #[test]
    fn decodes_floats_bools_and_unicode() {
        let f4: Vec<u8> = [0.25f32, -1.5]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(
            open(&npy(">f4", "(2,)", &f4))
                .and_then(NpyReader::read_f64)
                .ok(),
            Some(vec![0.25, -1.5])
        );
        assert_eq!(
            open(&npy("|b1", "(3,)", &[1, 0, 1]))
                .and_then(NpyReader::read_bool)
                .ok(),
            Some(vec![true, false, true])
        );
        let mut u: Vec<u8> = "aé"
            .chars()
            .chain(['\0'])
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        u.extend("xyz".chars().flat_map(|c| (c as u32).to_le_bytes()));
        assert_eq!(
            open(&npy("<U3", "(2,)", &u))
                .and_then(NpyReader::read_strings)
                .ok(),
            Some(vec!["aé".into(), "xyz".into()])
        );
        let bad: Vec<u8> = [0xD800u32, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(matches!(
            open(&npy("<U3", "(1,)", &bad)).and_then(NpyReader::read_strings),
            Err(FormatError::BadUnicode { index: 0 })
        ));
    }

    #[test]
    fn rejects_wrong_sizes_dtypes_and_magic() {
        assert!(matches!(
            open(&npy("<i8", "(2,)", &[0; 15])),
            Err(FormatError::DataSize {
                expected: 16,
                found: 15
            })
        ));
        assert!(matches!(
            open(&npy("<c16", "(1,)", &[0; 16])),
            Err(FormatError::UnsupportedDtype { .. })
        ));
        assert!(matches!(
            open(&npy("<i8", "(99999999999, 99999999999, 9999)", &[])),
            Err(FormatError::ShapeOverflow { .. })
        ));
        assert!(matches!(
            open(b"PK\x03\x04 not npy"),
            Err(FormatError::BadMagic)
        ));
        assert!(matches!(
            open(&npy("<f8", "(1,)", &[0; 8])).and_then(NpyReader::read_bool),
            Err(FormatError::UnsupportedDtype { .. })
        ));
        let mut fortran = npy("<i8", "(1,)", &[0; 8]);
        let at = fortran
            .windows(5)
            .position(|w| w == b"False")
            .expect("has False");
        fortran.splice(at..at + 5, *b"True ");
        assert!(matches!(open(&fortran), Err(FormatError::FortranOrder)));
    }
}
