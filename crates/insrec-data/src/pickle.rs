//! Reads the strings of a pickled NumPy object array (`descr '|O'`), as `np.save` writes it.
//!
//! This is not a general unpickler: it walks the opcodes, skips everything up to the array's item list
//! (`EMPTY_LIST`: the `_reconstruct`/`dtype` preamble) and then collects the strings pushed into that
//! list (`BINUNICODE`, `SHORT_BINUNICODE`, `BINUNICODE8`, or `BINGET` of a memoised one) until `STOP`.
//! Protocols 2 to 5 are understood (NumPy <= 1.16 wrote 2, NumPy 2 writes 4 with `FRAME` and
//! `MEMOIZE`). Every length is checked against the remaining bytes, output is bounded, and malformed
//! input gives a [`PickleError`], never a panic.

use std::collections::HashMap;

use crate::error::PickleError;

/// Decoded strings may total at most this many times the input length (guards `BINGET` repetition).
const OUTPUT_FACTOR: usize = 16;

/// Decodes the `count` strings of a pickled object array.
///
/// `count` is the product of the `.npy` shape; a pickle with another number of items is an error.
pub fn object_array_strings(bytes: &[u8], count: usize) -> Result<Vec<String>, PickleError> {
    // Each item needs at least one opcode byte, so a larger count cannot be honest.
    if count > bytes.len() {
        return Err(PickleError::ImplausibleCount {
            count,
            bytes: bytes.len(),
        });
    }
    let mut walker = Walker::new(bytes, count);
    walker.run()?;
    Ok(walker.items)
}

/// What is on top of the pickle stack, as far as memo opcodes care.
#[derive(Clone, Copy)]
enum Top {
    /// The `n`-th collected item.
    Item(usize),
    Other,
}

struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
    count: usize,
    items: Vec<String>,
    output_bytes: usize,
    output_limit: usize,
    /// Memo slot -> collected item, `None` for anything else (preamble objects, the list).
    memo: HashMap<u64, Option<usize>>,
    top: Top,
    in_list: bool,
}

impl<'a> Walker<'a> {
    fn new(bytes: &'a [u8], count: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            count,
            items: Vec::with_capacity(count),
            output_bytes: 0,
            output_limit: bytes.len().saturating_mul(OUTPUT_FACTOR),
            memo: HashMap::new(),
            top: Top::Other,
            in_list: false,
        }
    }

    fn run(&mut self) -> Result<(), PickleError> {
        let (offset, opcode) = self.opcode().ok_or(PickleError::NotAPickle)?;
        if opcode != PROTO {
            return Err(PickleError::NotAPickle);
        }
        let protocol = self.take(1, offset, opcode)?[0];
        if !(2..=5).contains(&protocol) {
            return Err(PickleError::UnsupportedProtocol(protocol));
        }
        loop {
            let (offset, opcode) = self.opcode().ok_or(PickleError::MissingStop)?;
            if opcode == STOP {
                break;
            }
            self.step(offset, opcode)?;
        }
        if !self.in_list {
            return Err(PickleError::NoList);
        }
        if self.items.len() != self.count {
            return Err(PickleError::TooFewItems {
                expected: self.count,
                found: self.items.len(),
            });
        }
        Ok(())
    }

    fn step(&mut self, offset: usize, opcode: u8) -> Result<(), PickleError> {
        match opcode {
            FRAME => {
                self.take(8, offset, opcode)?;
            }
            BINPUT => {
                let slot = u64::from(self.take(1, offset, opcode)?[0]);
                self.store(slot);
            }
            LONG_BINPUT => {
                let slot = u64::from(self.u32(offset, opcode)?);
                self.store(slot);
            }
            MEMOIZE => self.store(self.memo.len() as u64),
            BINUNICODE | SHORT_BINUNICODE | BINUNICODE8 => {
                let len = match opcode {
                    SHORT_BINUNICODE => usize::from(self.take(1, offset, opcode)?[0]),
                    BINUNICODE => self.u32(offset, opcode)? as usize,
                    _ => self.u64_len(offset, opcode)?,
                };
                let raw = self.take(len, offset, opcode)?;
                if self.in_list {
                    let text =
                        std::str::from_utf8(raw).map_err(|_| PickleError::BadUtf8 { offset })?;
                    self.push(text.to_owned())?;
                } else {
                    self.top = Top::Other;
                }
            }
            BINGET | LONG_BINGET => {
                let slot = match opcode {
                    BINGET => u64::from(self.take(1, offset, opcode)?[0]),
                    _ => u64::from(self.u32(offset, opcode)?),
                };
                let entry = *self.memo.get(&slot).ok_or(PickleError::UnknownMemo {
                    offset,
                    index: slot,
                })?;
                match (self.in_list, entry) {
                    (false, _) => self.top = Top::Other,
                    (true, Some(item)) => self.push(self.items[item].clone())?,
                    (true, None) => return Err(PickleError::NotAString { offset, opcode }),
                }
            }
            EMPTY_LIST if !self.in_list => {
                self.in_list = true;
                self.top = Top::Other;
            }
            // Inside the item list only structure opcodes may appear besides strings.
            MARK | APPEND | APPENDS | TUPLE | TUPLE1 | TUPLE2 | TUPLE3 | BUILD | EMPTY_TUPLE
                if self.in_list =>
            {
                self.top = Top::Other;
            }
            _ if self.in_list => return Err(PickleError::NotAString { offset, opcode }),
            _ => {
                self.skip_argument(offset, opcode)?;
                self.top = Top::Other;
            }
        }
        Ok(())
    }

    /// Skips the argument of a preamble opcode.
    fn skip_argument(&mut self, offset: usize, opcode: u8) -> Result<(), PickleError> {
        let len = match opcode {
            GLOBAL => {
                self.line(offset, opcode)?;
                self.line(offset, opcode)?;
                0
            }
            BININT1 | SHORT_BINBYTES | SHORT_BINSTRING | LONG1 => match opcode {
                BININT1 => 1,
                _ => usize::from(self.take(1, offset, opcode)?[0]),
            },
            BININT2 => 2,
            BININT => 4,
            BINFLOAT => 8,
            BINBYTES | BINSTRING | LONG4 => self.u32(offset, opcode)? as usize,
            BINBYTES8 | BYTEARRAY8 => self.u64_len(offset, opcode)?,
            STACK_GLOBAL | MARK | EMPTY_TUPLE | TUPLE | TUPLE1 | TUPLE2 | TUPLE3 | REDUCE
            | BUILD | NEWTRUE | NEWFALSE | NONE | EMPTY_DICT | SETITEM | SETITEMS | NEWOBJ
            | NEWOBJ_EX | EMPTY_SET | ADDITEMS | FROZENSET | POP | POP_MARK | DUP | APPEND
            | APPENDS => 0,
            _ => return Err(PickleError::UnknownOpcode { offset, opcode }),
        };
        self.take(len, offset, opcode)?;
        Ok(())
    }

    fn push(&mut self, item: String) -> Result<(), PickleError> {
        if self.items.len() == self.count {
            return Err(PickleError::TooManyItems {
                expected: self.count,
            });
        }
        self.output_bytes += item.len();
        if self.output_bytes > self.output_limit {
            return Err(PickleError::LimitExceeded {
                limit: self.output_limit,
            });
        }
        self.items.push(item);
        self.top = Top::Item(self.items.len() - 1);
        Ok(())
    }

    fn store(&mut self, slot: u64) {
        let entry = match self.top {
            Top::Item(item) => Some(item),
            Top::Other => None,
        };
        self.memo.insert(slot, entry);
    }

    fn opcode(&mut self) -> Option<(usize, u8)> {
        let offset = self.pos;
        let opcode = *self.bytes.get(offset)?;
        self.pos += 1;
        Some((offset, opcode))
    }

    fn take(&mut self, len: usize, offset: usize, opcode: u8) -> Result<&'a [u8], PickleError> {
        let bytes = self.bytes;
        let end = self.pos.checked_add(len).filter(|&end| end <= bytes.len());
        let end = end.ok_or(PickleError::Truncated { offset, opcode })?;
        let slice = &bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u32(&mut self, offset: usize, opcode: u8) -> Result<u32, PickleError> {
        let raw = self.take(4, offset, opcode)?;
        Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
    }

    /// A u64 length; one larger than the address space is truncated input by definition.
    fn u64_len(&mut self, offset: usize, opcode: u8) -> Result<usize, PickleError> {
        let raw = self.take(8, offset, opcode)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(raw);
        usize::try_from(u64::from_le_bytes(le))
            .map_err(|_| PickleError::Truncated { offset, opcode })
    }

    /// A newline-terminated text argument (`GLOBAL`).
    fn line(&mut self, offset: usize, opcode: u8) -> Result<(), PickleError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated { offset, opcode })?;
        self.pos += len + 1;
        Ok(())
    }
}

// Opcodes (CPython `Lib/pickle.py`).
const MARK: u8 = b'(';
const STOP: u8 = b'.';
const POP: u8 = b'0';
const POP_MARK: u8 = b'1';
const DUP: u8 = b'2';
const BINFLOAT: u8 = b'G';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const REDUCE: u8 = b'R';
const BINSTRING: u8 = b'T';
const SHORT_BINSTRING: u8 = b'U';
const BINUNICODE: u8 = b'X';
const APPEND: u8 = b'a';
const BUILD: u8 = b'b';
const GLOBAL: u8 = b'c';
const APPENDS: u8 = b'e';
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const EMPTY_LIST: u8 = b']';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const SETITEM: u8 = b's';
const TUPLE: u8 = b't';
const EMPTY_TUPLE: u8 = b')';
const SETITEMS: u8 = b'u';
const EMPTY_DICT: u8 = b'}';
const PROTO: u8 = 0x80;
const NEWOBJ: u8 = 0x81;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;
const LONG4: u8 = 0x8b;
const BINBYTES: u8 = b'B';
const SHORT_BINBYTES: u8 = b'C';
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE8: u8 = 0x8d;
const BINBYTES8: u8 = 0x8e;
const EMPTY_SET: u8 = 0x8f;
const ADDITEMS: u8 = 0x90;
const FROZENSET: u8 = 0x91;
const NEWOBJ_EX: u8 = 0x92;
const STACK_GLOBAL: u8 = 0x93;
const MEMOIZE: u8 = 0x94;
const FRAME: u8 = 0x95;
const BYTEARRAY8: u8 = 0x96;

#[cfg(test)]
mod tests {
    use super::*;

    /// A protocol-2 pickle of `['ab', 'c', 'ab']` in the shape NumPy writes (preamble trimmed).
    fn small_pickle() -> Vec<u8> {
        let mut p = vec![PROTO, 2, GLOBAL];
        p.extend_from_slice(b"numpy.core.multiarray\n_reconstruct\n");
        p.extend_from_slice(&[
            BINPUT, 0, BINUNICODE, 1, 0, 0, 0, b'b', BINPUT, 1, NEWFALSE, EMPTY_LIST, BINPUT, 2,
        ]);
        p.extend_from_slice(&[MARK, BINUNICODE, 2, 0, 0, 0, b'a', b'b', BINPUT, 3]);
        p.extend_from_slice(&[
            SHORT_BINUNICODE,
            1,
            b'c',
            MEMOIZE,
            BINGET,
            3,
            APPENDS,
            BUILD,
            STOP,
        ]);
        p
    }

    #[test]
    fn reads_items_and_resolves_memo_references() {
        let items = object_array_strings(&small_pickle(), 3).expect("valid pickle");
        assert_eq!(items, ["ab", "c", "ab"]);
    }

    #[test]
    fn count_must_match_the_shape() {
        let p = small_pickle();
        assert_eq!(
            object_array_strings(&p, 4),
            Err(PickleError::TooFewItems {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            object_array_strings(&p, 2),
            Err(PickleError::TooManyItems { expected: 2 })
        );
        assert!(matches!(
            object_array_strings(&p, 1_000_000),
            Err(PickleError::ImplausibleCount { .. })
        ));
    }

    #[test]
    fn rejects_non_string_items_and_bad_protocols() {
        let mut p = small_pickle();
        let at = p
            .iter()
            .position(|&b| b == SHORT_BINUNICODE)
            .expect("has a short string");
        p[at] = BININT1;
        assert!(matches!(
            object_array_strings(&p, 3),
            Err(PickleError::NotAString { .. })
        ));
        assert_eq!(
            object_array_strings(&[PROTO, 1, STOP], 0),
            Err(PickleError::UnsupportedProtocol(1))
        );
        assert_eq!(
            object_array_strings(b"(lp0\n.", 0),
            Err(PickleError::NotAPickle)
        );
        assert_eq!(
            object_array_strings(&[PROTO, 2, STOP], 0),
            Err(PickleError::NoList)
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let p = small_pickle();
        for len in 0..p.len() {
            assert!(
                object_array_strings(&p[..len], 3).is_err(),
                "truncated to {len} bytes"
            );
        }
    }

    #[test]
    fn binget_repetition_is_bounded() {
        let mut p = vec![PROTO, 2, EMPTY_LIST, MARK, BINUNICODE];
        p.extend_from_slice(&200u32.to_le_bytes());
        p.extend(std::iter::repeat_n(b'x', 200));
        p.extend_from_slice(&[BINPUT, 0]);
        for _ in 0..150 {
            p.extend_from_slice(&[BINGET, 0]);
        }
        p.extend_from_slice(&[APPENDS, STOP]);
        assert!(matches!(
            object_array_strings(&p, 151),
            Err(PickleError::LimitExceeded { .. })
        ));
    }
}
