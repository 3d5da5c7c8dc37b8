//! Gives startup's memory back to the system, once, when startup is over.
//!
//! - The allocator's free memory: startup (reading the config, the first
//!   connections and the first round of checks) frees about 0.3 MiB that
//!   glibc keeps mapped, since it only returns memory from the top of the
//!   heap by itself; `malloc_trim` returns every free page
//!   (bench/agent-footprint.sh: RSS 8.1 -> 7.8 MiB).
//! - The executable's pages that startup read (argument and config
//!   parsing, TLS and client setup) and the rounds never touch again:
//!   `madvise(MADV_PAGEOUT)` on the binary's read-only mappings drops them;
//!   the pages a round needs come back from the page cache at the next
//!   round, once.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the `greenlight-agent` binary: a library user (the demo runs
/// agents inside its own process) keeps its memory as it is.
static OWN_PROCESS: AtomicBool = AtomicBool::new(false);

/// The agent is the whole process: after startup, give its memory back.
pub fn release_memory_after_startup() {
    OWN_PROCESS.store(true, Ordering::Relaxed);
}

/// Once, after startup (when the process is the agent's own): it walks
/// the whole heap and the memory map.
pub(crate) fn release_startup_memory() {
    if !OWN_PROCESS.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; no pointer is touched.
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_os = "linux")]
    page_out_startup_code();
}

/// Pages out the read-only, file-backed mappings of our own executable
/// (code and constants). Clean pages: nothing is lost, a page used again
/// is read back from the page cache or the file.
#[cfg(target_os = "linux")]
fn page_out_startup_code() {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3);
        if path.map(std::path::Path::new) != Some(exe.as_path()) || perms.contains('w') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: advice on a mapping of our own, read-only and
        // file-backed: its contents stay the file's; only residency changes.
        unsafe {
            let (at, len) = (start as *mut libc::c_void, end - start);
            libc::madvise(at, len, libc::MADV_RANDOM);
            libc::madvise(at, len, libc::MADV_PAGEOUT);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// `RssFile` of this process, in KiB.
    fn resident_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("RssFile:"))
            .unwrap();
        line.split_ascii_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn the_executables_pages_leave_the_resident_set() {
        let before = resident_file_kib();
        super::page_out_startup_code();
        let after = resident_file_kib();
        assert!(after < before, "RssFile {before} KiB -> {after} KiB");
    }
}
