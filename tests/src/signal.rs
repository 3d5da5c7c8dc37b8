//! Signals for a process and the processes below it.

use std::io;

/// Sends `signal` to `pid`.
pub(crate) fn send(pid: u32, signal: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `root` and every process below it, parents before children.
///
/// Read from `/proc`: PostgreSQL's backends, or what a `sh -c` started, are
/// children of the process the test spawned and must be stopped with it.
pub(crate) fn tree(root: u32) -> Vec<u32> {
    let parents = parent_links();
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    tree
}

/// (pid, parent pid) of every process visible in `/proc`.
fn parent_links() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            // The process may be gone already; then it needs no signal.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parent_in_stat(&stat)?))
        })
        .collect()
}

/// The parent pid in a `/proc/<pid>/stat` line: "pid (comm) state ppid ...".
/// `comm` may contain spaces and parentheses, so parse after the last ')'.
fn parent_in_stat(stat: &str) -> Option<u32> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_is_read_after_the_command_name() {
        assert_eq!(parent_in_stat("42 (a) b) S 7 42 42 0"), Some(7));
    }

    #[test]
    fn our_own_process_is_in_our_parents_tree() {
        let me = std::process::id();
        let parent = parent_in_stat(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        assert!(tree(parent).contains(&me));
    }
}
