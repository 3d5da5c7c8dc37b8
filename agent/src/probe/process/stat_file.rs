//! The backend process's CPU time and resident memory, from its
//! `/proc/<pid>/stat` kept open between rounds and read with one `pread`.
//!
//! sysinfo's refresh of one process re-opens and parses five files every
//! round (`/proc/uptime`, the process's `status`, `stat` and `statm`, and
//! `/proc/stat`): a fifth of the agent's CPU in `perf` during
//! `bench/agent-footprint.sh`. sysinfo still finds the process and reads the
//! host's figures. The kept descriptor also pins the process: once it has
//! exited, reads fail even if its pid is given to a new process.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// What one read of the stat file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// User plus system CPU time since the process started, in ms.
    pub(crate) cpu_ms: u64,
    pub(crate) resident_bytes: u64,
}

pub(crate) struct StatFile {
    file: File,
    buffer: Vec<u8>,
    ticks_per_second: u64,
    page_size: u64,
}

impl StatFile {
    pub(crate) fn open(pid: u32) -> io::Result<StatFile> {
        // SAFETY: sysconf only reads a constant of the running system.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        Ok(StatFile {
            file: File::open(format!("/proc/{pid}/stat"))?,
            buffer: vec![0; 1024],
            ticks_per_second: u64::try_from(ticks).unwrap_or(100).max(1),
            page_size: u64::try_from(page).unwrap_or(4096),
        })
    }

    /// `None` once the process has exited (a zombie counts as exited).
    pub(crate) fn read(&mut self) -> Option<Usage> {
        let read = self.file.read_at(&mut self.buffer, 0).ok()?;
        let (ticks, pages) = parse(&self.buffer[..read])?;
        Some(Usage {
            cpu_ms: ticks.saturating_mul(1000) / self.ticks_per_second,
            resident_bytes: pages.saturating_mul(self.page_size),
        })
    }
}

/// `(utime + stime, rss)` from a stat line, `None` for a zombie or a line
/// that does not parse. The command name may hold spaces and parentheses,
/// so fields are counted from the last `)`: state is field 3, utime 14,
/// stime 15, rss 24 (proc(5)).
fn parse(line: &[u8]) -> Option<(u64, u64)> {
    let after_name = line.iter().rposition(|&byte| byte == b')')? + 1;
    let text = std::str::from_utf8(&line[after_name..]).ok()?;
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let field = |number: usize| fields.get(number - 3).copied();
    if matches!(field(3)?, "Z" | "X" | "x") {
        return None;
    }
    let utime: u64 = field(14)?.parse().ok()?;
    let stime: u64 = field(15)?.parse().ok()?;
    let rss: i64 = field(24)?.parse().ok()?;
    Some((utime + stime, u64::try_from(rss).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_awkward_name() {
        let line = b"4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
                     250 130 0 0 20 0 4 0 12345 123456789 2560 18446744073709551615 \
                     1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(parse(line), Some((380, 2560)));
        let zombie = b"4242 (app) Z 1 4242 4242 0 -1 4194560 5000 0 0 0 250 130 0 0 20 0 \
                       1 0 12345 0 0 0";
        assert_eq!(parse(zombie), None);
        assert_eq!(parse(b"garbage"), None);
    }

    #[test]
    fn reads_this_process_and_notices_an_exit() {
        let mut own = StatFile::open(std::process::id()).unwrap();
        let usage = own.read().expect("this process is alive");
        assert!(usage.resident_bytes > 1024 * 1024, "{usage:?}");

        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut stat = StatFile::open(child.id()).unwrap();
        assert!(stat.read().is_some());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(stat.read(), None, "reaped: the kept file reads nothing");
    }
}
