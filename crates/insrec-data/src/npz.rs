//! `.npz` archives (zip of `.npy` members, STORED or DEFLATE, with or without zip64 extras) and plain
//! `.npy` files, opened as [`NpyReader`]s whose errors name the file and member.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use zip::ZipArchive;
use zip::read::ZipFile;

use crate::error::{Error, FormatError, Result};
use crate::npy::{Dtype, NpyReader};

/// An open `.npz` archive.
pub struct Npz {
    path: PathBuf,
    archive: ZipArchive<BufReader<File>>,
}

impl Npz {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let archive = ZipArchive::new(BufReader::new(file)).map_err(|source| Error::Zip {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            archive,
        })
    }

    /// The array stored as `<name>.npy`. Sizes come from the central directory, as NumPy 2 writes
    /// 0xFFFFFFFF in zip64 local headers.
    pub fn member(&mut self, name: &str) -> Result<Member<ZipFile<'_, BufReader<File>>>> {
        let member = format!("{name}.npy");
        let names: Vec<String> = self
            .archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        if !names.contains(&member) {
            return Err(Error::MissingMember {
                path: self.path.clone(),
                member,
                found: names.join(", "),
            });
        }
        let path = self.path.clone();
        let file = self.archive.by_name(&member).map_err(|source| Error::Zip {
            path: path.clone(),
            source,
        })?;
        let size = file.size();
        let reader = NpyReader::new(file, size).map_err(|source| Error::Format {
            path: path.clone(),
            member: member.clone(),
            source,
        })?;
        Ok(Member {
            path,
            member,
            reader,
        })
    }
}

/// Opens a standalone `.npy` file.
pub fn open_npy(path: &Path) -> Result<Member<BufReader<File>>> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let member = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let reader = NpyReader::new(BufReader::new(file), size).map_err(|source| Error::Format {
        path: path.to_owned(),
        member: member.clone(),
        source,
    })?;
    Ok(Member {
        path: path.to_owned(),
        member,
        reader,
    })
}

/// One array of a file, with the context its errors need.
pub struct Member<R> {
    path: PathBuf,
    member: String,
    reader: NpyReader<R>,
}

impl<R: std::io::Read> Member<R> {
    /// Fails unless `accept(dtype)`; `expected` describes the accepted dtypes.
    pub fn require_dtype(
        self,
        accept: impl Fn(Dtype) -> bool,
        expected: &'static str,
    ) -> Result<Self> {
        if accept(self.reader.dtype) {
            return Ok(self);
        }
        Err(Error::WrongDtype {
            path: self.path,
            member: self.member,
            found: self.reader.descr,
            expected,
        })
    }

    /// Fails unless the shape equals `expected`.
    pub fn require_shape(self, expected: &[usize]) -> Result<Self> {
        if self.reader.shape == expected {
            return Ok(self);
        }
        Err(Error::WrongShape {
            path: self.path,
            member: self.member,
            found: self.reader.shape,
            expected: format!("{expected:?}"),
        })
    }

    /// Fails unless the array is 1-D; returns its length.
    pub fn require_vector(self) -> Result<(Self, usize)> {
        match *self.reader.shape {
            [len] => Ok((self, len)),
            _ => Err(Error::WrongShape {
                path: self.path,
                member: self.member,
                found: self.reader.shape,
                expected: "a vector [N]".to_owned(),
            }),
        }
    }

    pub fn read_f32(self) -> Result<Vec<f32>> {
        self.decode(NpyReader::read_f32)
    }

    pub fn read_f64(self) -> Result<Vec<f64>> {
        self.decode(NpyReader::read_f64)
    }

    pub fn read_bool(self) -> Result<Vec<bool>> {
        self.decode(NpyReader::read_bool)
    }

    pub fn read_strings(self) -> Result<Vec<String>> {
        self.decode(NpyReader::read_strings)
    }

    fn decode<T>(
        self,
        read: impl FnOnce(NpyReader<R>) -> std::result::Result<T, FormatError>,
    ) -> Result<T> {
        let Self {
            path,
            member,
            reader,
        } = self;
        read(reader).map_err(|source| Error::Format {
            path,
            member,
            source,
        })
    }
}
