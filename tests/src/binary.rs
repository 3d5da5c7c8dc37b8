//! The workspace's binaries, as built next to the running test.

use std::ffi::OsStr;
use std::path::PathBuf;

/// The path of workspace binary `name` (`greenlight`, `greenlight-agent`,
/// `greenlight-aggregator`, `greenlight-simbackend`).
///
/// A test executable lives in `target/<profile>/deps/`; the binaries of the
/// same build are in `target/<profile>/`. Cargo does not build them for a
/// test of another package, hence the panic when one is missing.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the running test executable has a path");
    let mut dir = exe
        .parent()
        .expect("the test executable is inside a directory")
        .to_path_buf();
    if dir.file_name() == Some(OsStr::new("deps")) {
        dir.pop();
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "binary {name} is not built (looked for {}): run `cargo build --workspace --bins` first (tests/run.sh does)",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "run `cargo build --workspace --bins` first (tests/run.sh does)")]
    fn a_missing_binary_says_how_to_build_it() {
        binary("greenlight-no-such-binary");
    }
}
