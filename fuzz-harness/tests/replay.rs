//! Every kept input of every fuzz target, run through the target's harness
//! on stable Rust: the corpora (`fuzz/corpus/<target>/`, what the fuzzer
//! found worth keeping) and the regressions (`fuzz/regressions/<target>/`,
//! inputs that once broke something). A few seconds, in every test run.

use std::path::{Path, PathBuf};

use greenlight_fuzz_harness::{Harness, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error} (the kept inputs are missing)", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The files of a corpus; panics when there are none.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let files = files(dir);
    assert!(!files.is_empty(), "{}: no inputs kept", dir.display());
    files
}

/// Runs `files` through `target`'s harness; panics naming the first that
/// breaks it.
fn replay(target: &str, harness: Harness, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).expect("a readable input");
        if std::panic::catch_unwind(|| harness(&data)).is_err() {
            panic!("{target}: {} breaks the harness", file.display());
        }
    }
}

#[test]
fn every_corpus_input_passes() {
    for (target, harness) in TARGETS {
        replay(
            target,
            *harness,
            &inputs(&fuzz_dir().join("corpus").join(target)),
        );
    }
}

/// Only targets that once broke have regressions (fuzz/run.sh makes an
/// empty folder for the others); a folder of another name would be a typo
/// that replays nothing.
#[test]
fn every_regression_input_passes() {
    let root = fuzz_dir().join("regressions");
    let mut replayed = 0;
    for dir in inputs_dirs(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some((target, harness)) = TARGETS.iter().find(|(target, _)| *target == name) else {
            panic!("{}: no fuzz target {name:?}", dir.display());
        };
        let files = files(&dir);
        replay(target, *harness, &files);
        replayed += files.len();
    }
    assert!(replayed > 0, "{}: no regressions kept", root.display());
}

/// The folders of `dir`.
fn inputs_dirs(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error} (the regressions are missing)", dir.display()));
    let mut dirs: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}
