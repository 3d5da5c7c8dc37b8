//! Where the Debian-packaged servers live, and what to install when they are
//! missing. The test bed never skips: a missing program is an error.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// `redis-server`: on PATH, else where Debian puts it.
pub(crate) fn redis_server() -> anyhow::Result<PathBuf> {
    if let Some(path) = on_path("redis-server") {
        return Ok(path);
    }
    let debian = PathBuf::from("/usr/bin/redis-server");
    if is_executable(&debian) {
        return Ok(debian);
    }
    bail!(
        "redis-server is not installed: run `apt-get install -y --no-install-recommends redis-server` as root (tests/run.sh installs it for you)"
    )
}

/// `redis-cli` (Debian ships it with redis-server, in redis-tools), for
/// `--cluster create`.
pub(crate) fn redis_cli() -> anyhow::Result<PathBuf> {
    if let Some(path) = on_path("redis-cli") {
        return Ok(path);
    }
    debian_program("redis-tools", "/usr/bin/redis-cli")
}

/// The directory holding PostgreSQL's `initdb`, `postgres` and `pg_isready`.
///
/// Debian keeps the server programs off PATH, in
/// `/usr/lib/postgresql/<major>/bin`; the newest major wins. Elsewhere they
/// are usually on PATH.
pub(crate) fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = newest_debian_postgres()? {
        return Ok(dir);
    }
    // The rust-version (1.85) predates let chains.
    let on_path_dir = on_path("initdb")
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|dir| has_postgres_programs(dir));
    if let Some(dir) = on_path_dir {
        return Ok(dir);
    }
    bail!(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): run `apt-get install -y --no-install-recommends postgresql` as root (tests/run.sh installs it for you)"
    )
}

/// A Debian-packaged program at `path` (the package is `package`).
pub fn debian_program(package: &str, path: &str) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(path);
    if is_executable(&path) {
        return Ok(path);
    }
    bail!(
        "{} is not installed: run `apt-get install -y --no-install-recommends {package}` as root (tests/run.sh installs it for you)",
        path.display()
    )
}

/// `prometheus-alertmanager` (Debian's package and binary name).
pub fn alertmanager() -> anyhow::Result<PathBuf> {
    debian_program(
        "prometheus-alertmanager",
        "/usr/bin/prometheus-alertmanager",
    )
}

/// Debian's `chromium`, for the status page's browser test.
pub fn chromium() -> anyhow::Result<PathBuf> {
    debian_program("chromium", "/usr/bin/chromium")
}

/// The tests' Python, a venv that tests/run.sh makes in `target/pytools`
/// with tests/python-requirements.txt (aiosmtpd, grpcio-reflection).
/// `GREENLIGHT_TEST_PYTHON` overrides it.
pub fn python() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GREENLIGHT_TEST_PYTHON") {
        return Ok(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pytools/bin/python");
    if is_executable(&venv) {
        return Ok(venv);
    }
    bail!(
        "the tests' Python venv is missing ({}): run `bash tests/run.sh`, which makes it from tests/python-requirements.txt",
        venv.display()
    )
}

fn newest_debian_postgres() -> anyhow::Result<Option<PathBuf>> {
    let root = Path::new("/usr/lib/postgresql");
    if !root.is_dir() {
        return Ok(None);
    }
    let entries =
        std::fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))?;
    let newest = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = version_key(&entry.file_name().to_string_lossy())?;
            let bin = entry.path().join("bin");
            has_postgres_programs(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin);
    Ok(newest)
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn has_postgres_programs(dir: &Path) -> bool {
    ["initdb", "postgres", "pg_isready"]
        .iter()
        .all(|program| is_executable(&dir.join(program)))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        assert!(version_key("15") > version_key("9.6"));
        assert_eq!(version_key("main"), None);
    }
}
