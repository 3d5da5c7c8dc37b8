//! The `process` check: the backend process's CPU (as a share of one core,
//! over the time since the last round) and resident memory, and the host's
//! 1-minute load and available memory. sysinfo finds the process and reads
//! the host's figures (every tenth round: they are context, not judged);
//! the process's own figures come from its kept-open `/proc/<pid>/stat`
//! (see [`stat_file`]). Without thresholds it passes and reports;
//! `max_cpu_ratio` and `max_resident_memory_bytes` make it fail.

mod locate;
mod stat_file;

use greenlight_proto::v1::{CheckKind, CheckResult, ProcessDetail, check_result::Detail};
use sysinfo::{MemoryRefreshKind, Pid, System};
use tokio::time::Instant;
use tracing::info;

use self::locate::locate;
use self::stat_file::StatFile;
use super::{Extras, ProbeSetupError, failed, passed};
use crate::config::{ProcessCheck, ProcessLocator};

pub(super) const CHECK: CheckKind = CheckKind::Process;

pub(crate) struct ProcessProbe {
    check: ProcessCheck,
    /// The host's memory figures only.
    system: System,
    host: Extras,
    /// The host's 1-minute load and available memory, as last read.
    last_host: (f64, u64),
    /// The backend process, until it is gone.
    process: Option<(Pid, StatFile)>,
    /// CPU time (ms) and when it was read, for the next round's ratio.
    last_cpu: Option<(u64, Instant)>,
}

impl ProcessProbe {
    pub(crate) fn new(check: ProcessCheck) -> Result<Self, ProbeSetupError> {
        Ok(ProcessProbe {
            check,
            system: System::new()
                .map_err(|error| ProbeSetupError::ProcessTable(error.to_string()))?,
            host: Extras::new(),
            last_host: (0.0, 0),
            process: None,
            last_cpu: None,
        })
    }

    pub(crate) async fn check(&mut self) -> CheckResult {
        let started = Instant::now();
        let (pid, mut stat) = match self.process.take() {
            Some(process) => process,
            None => match self.find().await {
                Ok(found) => found,
                Err(error) => return failed(CHECK, error, started.elapsed()),
            },
        };
        let Some(usage) = stat.read() else {
            self.last_cpu = None;
            return failed(
                CHECK,
                format!("the backend process {pid} ({}) is gone", self.describe()),
                started.elapsed(),
            );
        };
        self.process = Some((pid, stat));
        let now = Instant::now();
        // The first round has nothing to compare with: 0, not judged.
        let cpu_ratio = self.last_cpu.map(|(before_ms, at)| {
            let wall_ms = now.saturating_duration_since(at).as_secs_f64() * 1000.0;
            if wall_ms > 0.0 {
                usage.cpu_ms.saturating_sub(before_ms) as f64 / wall_ms
            } else {
                0.0
            }
        });
        self.last_cpu = Some((usage.cpu_ms, now));
        if self.host.due() {
            self.system
                .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
            let load = System::load_average().map_or(0.0, |load| load.one);
            self.last_host = (load, self.system.available_memory());
        }
        let detail = ProcessDetail {
            cpu_ratio: cpu_ratio.unwrap_or(0.0),
            resident_memory_bytes: usage.resident_bytes,
            host_load_1m: self.last_host.0,
            host_free_memory_bytes: self.last_host.1,
        };
        let mut result = self.judge(cpu_ratio, usage.resident_bytes, started);
        result.detail = Some(Detail::Process(detail));
        result
    }

    /// Fails on a threshold crossed; observes what a threshold is set for
    /// (CPU first), else the resident memory.
    fn judge(&self, cpu_ratio: Option<f64>, resident: u64, started: Instant) -> CheckResult {
        let took = started.elapsed();
        let cpu_limit = self.check.max_cpu_ratio;
        let memory_limit = self.check.max_resident_memory_bytes;
        let observe = |mut result: CheckResult, value: f64, unit: &str, limit: Option<f64>| {
            result.observed_value = value;
            result.observed_unit = unit.to_string();
            result.threshold = limit.unwrap_or(0.0);
            result
        };
        if let (Some(limit), Some(ratio)) = (cpu_limit, cpu_ratio) {
            if ratio > limit {
                let error = format!("CPU {ratio:.2} of a core is above {limit}");
                return observe(failed(CHECK, error, took), ratio, "ratio", Some(limit));
            }
        }
        if let Some(limit) = memory_limit {
            if resident > limit {
                let error = format!("resident memory {resident} bytes is above {limit}");
                let (value, limit) = (resident as f64, limit as f64);
                return observe(failed(CHECK, error, took), value, "bytes", Some(limit));
            }
        }
        match cpu_limit {
            Some(limit) => observe(
                passed(CHECK, took),
                cpu_ratio.unwrap_or(0.0),
                "ratio",
                Some(limit),
            ),
            None => observe(
                passed(CHECK, took),
                resident as f64,
                "bytes",
                memory_limit.map(|limit| limit as f64),
            ),
        }
    }

    /// Looks the process up (blocking reads of /proc, off the runtime).
    async fn find(&mut self) -> Result<(Pid, StatFile), String> {
        let locator = self.check.locator.clone();
        let found = tokio::task::spawn_blocking(move || locate(&locator))
            .await
            .map_err(|error| format!("the process lookup failed: {error}"))?
            .map_err(|error| error.to_string())?;
        let stat = StatFile::open(found.as_u32())
            .map_err(|error| format!("cannot read /proc/{found}/stat: {error}"))?;
        info!(pid = %found, process = %self.describe(), "found the backend process");
        self.last_cpu = None;
        Ok((found, stat))
    }

    /// How the process is known, for messages.
    fn describe(&self) -> String {
        match &self.check.locator {
            ProcessLocator::PidFile(path) => format!("pid file {}", path.display()),
            ProcessLocator::Name(name) => format!("name {name:?}"),
            ProcessLocator::Port(port) => format!("listening on port {port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::CheckStatus;

    use super::*;
    use crate::probe::Probe;

    fn probe_for(check: ProcessCheck) -> Probe {
        Probe::Process(ProcessProbe::new(check).unwrap())
    }

    fn by_port(port: u16) -> ProcessCheck {
        ProcessCheck {
            locator: ProcessLocator::Port(port),
            max_cpu_ratio: None,
            max_resident_memory_bytes: None,
        }
    }

    #[tokio::test]
    async fn reports_this_process_and_the_host() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut probe = probe_for(by_port(listener.local_addr().unwrap().port()));
        let timeout = Duration::from_secs(5);
        let first = probe.observe(timeout).await.result().clone();
        assert_eq!(first.status(), CheckStatus::Pass, "{}", first.error);
        // Burn some CPU so the second round sees it.
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(200) {
            std::hint::black_box(spin.elapsed());
        }
        let second = probe.observe(timeout).await.result().clone();
        let Some(Detail::Process(detail)) = second.detail else {
            panic!("no process detail")
        };
        assert!(detail.cpu_ratio > 0.1, "{detail:?}");
        assert!(detail.resident_memory_bytes > 1024 * 1024, "{detail:?}");
        assert!(detail.host_free_memory_bytes > 0, "{detail:?}");
        assert_eq!(second.observed_unit, "bytes");
        assert_eq!(second.observed_value, detail.resident_memory_bytes as f64);
    }

    #[tokio::test]
    async fn thresholds_fail_the_check() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut probe = probe_for(ProcessCheck {
            max_resident_memory_bytes: Some(1024),
            ..by_port(listener.local_addr().unwrap().port())
        });
        let result = probe.observe(Duration::from_secs(5)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(
            result.error.starts_with("resident memory"),
            "{}",
            result.error
        );
        assert_eq!(result.threshold, 1024.0);
    }

    #[tokio::test]
    async fn a_missing_process_fails_and_is_looked_for_again() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut probe = probe_for(by_port(port));
        let result = probe.observe(Duration::from_secs(5)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(
            result.error.contains(&format!("port {port}")),
            "{}",
            result.error
        );
        let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let result = probe.observe(Duration::from_secs(5)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);
    }
}
