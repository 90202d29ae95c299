//! Helpers shared by the CLI tests: running the built `insrec` binary as a user would.

#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `insrec` with `args`, the VGGish variables cleared so that a developer's environment cannot
/// change a test.
pub fn insrec<S: AsRef<OsStr>>(args: &[S]) -> Output {
    insrec_env(args, &[])
}

/// [`insrec`] with extra environment variables.
pub fn insrec_env<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_insrec"));
    command
        .args(args)
        .env_remove("INSREC_VGGISH_WEIGHTS")
        .env_remove("INSREC_VGGISH_PCA");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run insrec")
}

/// The process's standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
