//! Running one hook command: argv only (never a shell string with data in
//! it), in its own process group so that a timeout kills everything it
//! started, with the tail of its output kept for the record.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

/// Output kept per hook run (the end of it: where errors are).
const TAIL_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by a signal (not ours).
    Signal,
    /// Still running at the timeout: killed.
    TimedOut,
    /// Could not be started at all.
    NotStarted(String),
    /// Killed because this aggregator stopped leading the deployment.
    Stopped,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub exit: Exit,
    pub duration: Duration,
    /// The last bytes of stdout and stderr, interleaved per stream.
    pub output_tail: String,
}

impl RunResult {
    pub fn succeeded(&self) -> bool {
        self.exit == Exit::Code(0)
    }

    pub fn describe(&self) -> String {
        match &self.exit {
            Exit::Code(code) => format!("exit {code}"),
            Exit::Signal => "killed by a signal".into(),
            Exit::TimedOut => "timed out and was killed".into(),
            Exit::Stopped => {
                "killed: this aggregator stopped leading the deployment (its lease lapsed)".into()
            }
            Exit::NotStarted(error) => format!("could not start: {error}"),
        }
    }
}

/// Runs `argv` to its end, its timeout (the process group is killed), or
/// `stop` (the group is killed too: this aggregator stopped leading the
/// deployment, and another may run its hooks now).
pub async fn run_until(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> RunResult {
    let started = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return RunResult {
            exit: Exit::NotStarted("empty command".into()),
            duration: Duration::ZERO,
            output_tail: String::new(),
        };
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return RunResult {
                exit: Exit::NotStarted(format!("{program}: {error}")),
                duration: started.elapsed(),
                output_tail: String::new(),
            };
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // Read both pipes while waiting (a chatty hook must not block on a
    // full pipe), in this task: nothing is spawned that could outlive it.
    let reading = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(mut stream) = stdout {
                let _ = stream.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(mut stream) = stderr {
                let _ = stream.read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        (out, err)
    };
    let waiting = async {
        let waited = tokio::select! {
            waited = tokio::time::timeout(timeout, child.wait()) => waited,
            () = stop => {
                kill_group(child.id());
                let _ = child.wait().await;
                return Exit::Stopped;
            }
        };
        match waited {
            Ok(Ok(status)) => match status.code() {
                Some(code) => Exit::Code(code),
                None => Exit::Signal,
            },
            Ok(Err(error)) => Exit::NotStarted(error.to_string()),
            Err(_) => {
                kill_group(child.id());
                let _ = child.wait().await;
                Exit::TimedOut
            }
        }
    };
    // The pipes close when the group is gone; bound the reading anyway (a
    // process that left the group may hold them open).
    let (exit, output) = tokio::join!(
        waiting,
        tokio::time::timeout(timeout + Duration::from_secs(2), reading)
    );
    let (out, err) = output.unwrap_or_default();
    RunResult {
        exit,
        duration: started.elapsed(),
        output_tail: tail(&out, &err),
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we
        // created for this hook (process_group(0) made it its leader).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn tail(out: &[u8], err: &[u8]) -> String {
    let mut text = String::new();
    for (name, bytes) in [("stdout", out), ("stderr", err)] {
        if bytes.is_empty() {
            continue;
        }
        let start = bytes.len().saturating_sub(TAIL_BYTES / 2);
        text.push_str(&format!(
            "[{name}] {}",
            String::from_utf8_lossy(&bytes[start..])
        ));
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    async fn run(argv: &[String], env: &[(String, String)], timeout: Duration) -> RunResult {
        run_until(argv, env, timeout, std::future::pending()).await
    }

    #[tokio::test]
    async fn a_run_stopped_because_the_lease_went_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let child_pid = dir.path().join("child.pid");
        let script = format!("sleep 60 & echo $! > {}; wait", child_pid.display());
        let stop = async {
            while !child_pid.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let result = run_until(
            &argv(&["sh", "-c", &script]),
            &[],
            Duration::from_secs(60),
            stop,
        )
        .await;
        assert_eq!(result.exit, Exit::Stopped);
        assert!(
            result.describe().contains("stopped leading"),
            "{}",
            result.describe()
        );
        let pid = std::fs::read_to_string(&child_pid).unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .is_ok_and(|stat| !stat.contains(") Z "))
        };
        // SIGKILL is delivered, not instant: bounded, generous.
        for _ in 0..200 {
            if !alive() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!alive(), "the hook's child {pid} outlived the stop");
    }

    #[tokio::test]
    async fn a_command_runs_with_its_environment_and_its_output_is_kept() {
        let result = run(
            &argv(&["sh", "-c", "echo to=$GREENLIGHT_TO; echo oops >&2; exit 3"]),
            &[("GREENLIGHT_TO".into(), "blue".into())],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(result.exit, Exit::Code(3));
        assert!(
            result.output_tail.contains("to=blue"),
            "{}",
            result.output_tail
        );
        assert!(
            result.output_tail.contains("oops"),
            "{}",
            result.output_tail
        );
    }

    #[tokio::test]
    async fn a_hanging_command_and_its_children_are_killed_at_the_timeout() {
        let result = run(
            &argv(&["sh", "-c", "sleep 60 & sleep 60"]),
            &[],
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(result.exit, Exit::TimedOut);
        assert!(
            result.duration < Duration::from_secs(10),
            "{:?}",
            result.duration
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_not_started() {
        let result = run(&argv(&["/nonexistent/switch"]), &[], Duration::from_secs(1)).await;
        assert!(matches!(result.exit, Exit::NotStarted(_)));
    }
}
