//! The aggregator's CPU time and resident memory, from `/proc/<pid>/stat`
//! (utime, stime) and `/proc/<pid>/status` (VmRSS).

use anyhow::Context;

/// Linux's USER_HZ, the unit of utime and stime: 100 on every mainstream
/// architecture (sysconf(_SC_CLK_TCK)).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User plus system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

pub fn read(pid: u32) -> anyhow::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat: is the aggregator's pid right?"))?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("/proc/<pid>/stat without a command name")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15; after the name, field 3 (the
    // state) is index 0, so they are indices 11 and 12.
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(index)
            .context("/proc/<pid>/stat too short")?
            .parse::<f64>()?)
    };
    let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .context("no VmRSS in /proc/<pid>/status")?
        .parse()?;
    Ok(Usage {
        cpu_seconds,
        rss_bytes: rss_kib * 1024,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let usage = super::read(std::process::id()).unwrap();
        assert!(usage.rss_bytes > 0 && usage.cpu_seconds >= 0.0);
    }
}
