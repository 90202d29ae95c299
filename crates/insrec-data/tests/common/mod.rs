//! Helpers shared by the integration tests: fixture paths, raw npz members, npy/npz writers.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use insrec_testutil::fixture;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub const ROOT: &str = "openmic/openmic-2018";

/// The fixture release folder.
pub fn root() -> PathBuf {
    fixture(ROOT)
}

/// All members of an npz as `(name, bytes)`, in archive order.
pub fn members(npz: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(npz).unwrap_or_else(|e| panic!("open {}: {e}", npz.display()));
    let mut archive =
        ZipArchive::new(file).unwrap_or_else(|e| panic!("zip {}: {e}", npz.display()));
    (0..archive.len())
        .map(|i| {
            let mut member = archive
                .by_index(i)
                .unwrap_or_else(|e| panic!("member {i}: {e}"));
            let mut bytes = Vec::new();
            member
                .read_to_end(&mut bytes)
                .unwrap_or_else(|e| panic!("read member {i}: {e}"));
            (
                member
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|e| panic!("member {i} name: {e}")),
                bytes,
            )
        })
        .collect()
}

/// Writes a STORED npz.
pub fn write_npz(path: &Path, members: &[(String, Vec<u8>)]) {
    let file =
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, bytes) in members {
        zip.start_file(name.as_str(), options)
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        zip.write_all(bytes)
            .unwrap_or_else(|e| panic!("write {name}: {e}"));
    }
    zip.finish()
        .unwrap_or_else(|e| panic!("finish {}: {e}", path.display()));
}

/// An `.npy` v1.0 file.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(
        &u16::try_from(header.len())
            .expect("short header")
            .to_le_bytes(),
    );
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// The payload after the header of an `.npy` v1 file.
pub fn npy_payload(bytes: &[u8]) -> &[u8] {
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    &bytes[10 + header_len..]
}

/// A copy of the fixture release folder (npz, class map, partitions) in a temp dir.
pub fn copy_release() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("partitions")).expect("mkdir");
    for file in [
        "openmic-2018.npz",
        "class-map.json",
        "partitions/split01_train.csv",
        "partitions/split01_test.csv",
    ] {
        std::fs::copy(root().join(file), dir.path().join(file))
            .unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    dir
}
