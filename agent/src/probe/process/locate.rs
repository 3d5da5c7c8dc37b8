//! Finding the backend's process: by pid file, by name, or by the TCP port
//! it listens on. Done once, and again only when the process is gone: the
//! name and port searches read the whole process table.
//!
//! The port search is Linux's own bookkeeping, read directly (no crate
//! offers just this without a process table of its own): the listening
//! socket's inode from `/proc/net/tcp{,6}`, then the process holding a file
//! descriptor to that inode under `/proc/<pid>/fd`. Reading other users'
//! descriptors needs the same user or root, as for `ss -p`.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use crate::config::ProcessLocator;

/// Why the process was not found, in the words a check result carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotFound {
    #[error("cannot read pid file {path}: {reason}")]
    PidFile { path: String, reason: String },
    #[error("no process named {0:?}")]
    Name(String),
    #[error("no process listening on TCP port {0} (or it belongs to another user)")]
    Port(u16),
    #[error("cannot read {path}: {reason}")]
    Proc { path: String, reason: String },
}

/// The pid of the process `locator` names.
pub(crate) fn locate(locator: &ProcessLocator) -> Result<Pid, NotFound> {
    match locator {
        ProcessLocator::PidFile(path) => from_pid_file(path),
        ProcessLocator::Name(name) => by_name(name),
        ProcessLocator::Port(port) => by_port(*port),
    }
}

fn from_pid_file(path: &Path) -> Result<Pid, NotFound> {
    let failure = |reason: String| NotFound::PidFile {
        path: path.display().to_string(),
        reason,
    };
    let text = fs::read_to_string(path).map_err(|error| failure(error.to_string()))?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| failure(format!("{:?} is not a pid", text.trim())))?;
    Ok(Pid::from_u32(pid))
}

/// The oldest (lowest pid) process whose name or executable's file name is
/// `name`, other than this agent. Linux cuts names to 15 bytes; the
/// executable's name is whole.
fn by_name(name: &str) -> Result<Pid, NotFound> {
    let mut system = System::new().map_err(|error| NotFound::Proc {
        path: "/proc".to_string(),
        reason: error.to_string(),
    })?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_exe(UpdateKind::OnlyIfNotSet),
    );
    let me = sysinfo::get_current_pid().ok();
    let wanted = OsStr::new(name);
    system
        .processes()
        .iter()
        .filter(|(pid, _)| Some(**pid) != me)
        .filter(|(_, process)| {
            process.name() == wanted
                || process
                    .exe()
                    .and_then(Path::file_name)
                    .is_some_and(|exe| exe == wanted)
        })
        .map(|(pid, _)| *pid)
        .min()
        .ok_or_else(|| NotFound::Name(name.to_string()))
}

fn by_port(port: u16) -> Result<Pid, NotFound> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        // A host without IPv6 has no tcp6 table: nothing listens there.
        if let Ok(text) = fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return Err(NotFound::Port(port));
    }
    let proc_dir = fs::read_dir("/proc").map_err(|error| NotFound::Proc {
        path: "/proc".to_string(),
        reason: error.to_string(),
    })?;
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes that end meanwhile, or belong to others, are skipped.
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if socket_inode(target.as_os_str()).is_some_and(|inode| inodes.contains(&inode)) {
                return Ok(Pid::from_u32(pid));
            }
        }
    }
    Err(NotFound::Port(port))
}

/// Inodes of the sockets in LISTEN state on `port`, from a
/// `/proc/net/tcp` table: `sl local_address rem_address st ... inode`.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit(':').next()?;
            let listening = *fields.get(3)? == LISTEN;
            let matches = u16::from_str_radix(local_port, 16).ok()? == port;
            (listening && matches).then(|| fields.get(9)?.parse().ok())?
        })
        .collect()
}

/// `socket:[12345]` -> 12345.
fn socket_inode(link: &OsStr) -> Option<u64> {
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1389 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 41299 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50000 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn listening_sockets_by_port() {
        assert_eq!(
            listening_inodes(TABLE, 5001),
            [41234],
            "not the established one"
        );
        assert_eq!(listening_inodes(TABLE, 8080), [50000]);
        assert!(listening_inodes(TABLE, 5000).is_empty());
        assert_eq!(socket_inode(OsStr::new("socket:[41234]")), Some(41234));
        assert_eq!(socket_inode(OsStr::new("pipe:[41234]")), None);
    }

    #[test]
    fn finds_this_process_by_its_listening_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let pid = locate(&ProcessLocator::Port(port)).unwrap();
        assert_eq!(pid.as_u32(), std::process::id());
        drop(listener);
        assert_eq!(
            locate(&ProcessLocator::Port(port)),
            Err(NotFound::Port(port))
        );
    }

    #[test]
    fn pid_files_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backend.pid");
        std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        let pid = locate(&ProcessLocator::PidFile(path.clone())).unwrap();
        assert_eq!(pid.as_u32(), std::process::id());
        std::fs::write(&path, "soon").unwrap();
        let error = locate(&ProcessLocator::PidFile(path)).unwrap_err();
        assert!(
            error.to_string().contains("\"soon\" is not a pid"),
            "{error}"
        );
        let error = locate(&ProcessLocator::Name("no-such-backend-xyz".into())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no process named \"no-such-backend-xyz\""
        );
    }

    #[test]
    fn finds_a_process_by_its_name() {
        // A copy of sleep(1) under a name nothing else on the machine has:
        // short enough to be the kernel's comm (15 bytes), and long, which
        // only the executable's path gives.
        let dir = tempfile::tempdir().unwrap();
        let short = format!("gl-nap-{}", std::process::id() % 100_000);
        let long = format!("greenlight-locate-test-{}", std::process::id());
        for name in [short, long] {
            let program = dir.path().join(&name);
            std::fs::copy("/bin/sleep", &program).unwrap();
            let mut child = std::process::Command::new(&program)
                .arg("30")
                .spawn()
                .unwrap();
            let found = locate(&ProcessLocator::Name(name.clone()));
            child.kill().unwrap();
            child.wait().unwrap();
            assert_eq!(found.unwrap().as_u32(), child.id(), "{name}");
        }
    }
}
