//! The audio files a command works on: files as given, directories searched recursively.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

/// Extensions picked up when a directory is given (explicit files are always taken).
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "ogg", "oga", "opus", "flac", "m4a", "mp4", "aac", "alac", "aif", "aiff",
    "caf", "mkv", "webm",
];

/// Files as given, and the audio files under each directory (sorted, recursive).
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = files.len();
            walk(input, &mut files)
                .with_context(|| format!("reading directory {}", input.display()))?;
            if files.len() == before {
                bail!(
                    "{}: no audio files found in this directory",
                    input.display()
                );
            }
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// A bar counting processed files; hidden for a single file.
pub fn files_bar(files: usize) -> ProgressBar {
    if files < 2 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(files as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files {elapsed_precise} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
