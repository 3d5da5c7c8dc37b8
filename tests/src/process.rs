//! A child process with its output captured, killed on Drop.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
// Wall-clock deadlines: the child runs in real time whatever the test's clock.
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::output::Output;
use crate::signal;

/// How often waits look at the child again.
const POLL: Duration = Duration::from_millis(20);
/// How long `terminate()` lets a process shut down before SIGKILL.
const TERMINATE_GRACE: Duration = Duration::from_secs(15);
/// How long to wait for a SIGKILLed process to be reaped before giving up.
const KILL_REAP: Duration = Duration::from_secs(30);
/// How long a dead process' pipes may stay open (held by its children)
/// before its output counts as complete anyway.
const EXIT_DRAIN: Duration = Duration::from_secs(5);

/// A running child: stdout and stderr captured, stopped on Drop.
///
/// Every method takes `&self`, so a test can share a `Process` and still stop
/// it. Dropping it SIGKILLs it and everything it started; dropping it while
/// the test panics also prints its output ([`Process::dump`]).
pub struct Process {
    /// Names the process in dumps and panic messages.
    name: String,
    /// Kept apart from `child` so it can be read without the lock.
    pid: u32,
    /// Locked while signalling, so a pid is never signalled after it was
    /// reaped (and possibly reused).
    child: Mutex<Child>,
    /// Both streams, line by line, for waits and dumps.
    output: Arc<Output>,
    /// Set by `freeze()`: a stopped process must be continued before it can
    /// act on a polite signal.
    frozen: AtomicBool,
}

impl Process {
    /// Starts `program` with `args`, and `env` on top of the inherited
    /// environment. The process is named after the program's file name.
    pub fn spawn(
        program: impl AsRef<Path>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Process> {
        let program = program.as_ref();
        let name = program.file_name().map_or_else(
            || program.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let mut command = Command::new(program);
        command.args(args).envs(env.iter().copied());
        Process::from_command(name, command)
    }

    /// Starts a prepared `command` (for what `spawn` cannot say: a working
    /// directory, a user, non-UTF-8 arguments). Its stdin is closed and its
    /// stdout and stderr are captured.
    pub fn from_command(name: impl Into<String>, mut command: Command) -> anyhow::Result<Process> {
        let name = name.into();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().with_context(|| {
            format!(
                "cannot start {name} ({}): check that it is installed or built and executable",
                command.get_program().to_string_lossy()
            )
        })?;
        let output = Arc::new(Output::default());
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let captured = output
            .capture(stdout, format!("{name}-stdout"))
            .and_then(|()| output.capture(stderr, format!("{name}-stderr")));
        let process = Process {
            name,
            pid: child.id(),
            child: Mutex::new(child),
            output,
            frozen: AtomicBool::new(false),
        };
        // On error `process` drops here, which kills the child.
        captured
            .with_context(|| format!("cannot start threads to read {}'s output", process.name))?;
        Ok(process)
    }

    /// The name used in dumps and panic messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// True until the process has exited.
    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// The exit status, once the process has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child()
            .try_wait()
            .expect("waitpid on our own child cannot fail")
    }

    /// Everything printed on stdout and stderr so far, one line per line.
    pub fn output_so_far(&self) -> String {
        self.output.text()
    }

    /// Prints the captured output to stderr, framed by the process' name: call
    /// it when a test is about to fail.
    pub fn dump(&self) {
        eprintln!(
            "----- {} (pid {}) output -----\n{}\n----- end of {} output -----",
            self.name,
            self.pid,
            self.output.text(),
            self.name
        );
    }

    /// The first line on stdout or stderr containing `pattern`, waiting up to
    /// `timeout` for it. Panics, showing the output, on timeout or when the
    /// process exits without printing it.
    pub async fn wait_for_line(&self, pattern: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut exited_at = None;
        loop {
            // Read the state before searching: lines that were complete then
            // are all in the buffer now.
            let complete = self.output.is_complete();
            let status = self.exit_status();
            if let Some(line) = self.output.find(pattern) {
                return line;
            }
            let now = Instant::now();
            if let Some(status) = status {
                let exited_at = *exited_at.get_or_insert(now);
                if complete || now >= exited_at + EXIT_DRAIN {
                    panic!(
                        "{} exited ({status}) without printing a line containing {pattern:?}; its output:\n{}",
                        self.name,
                        self.output.text()
                    );
                }
            }
            if now >= deadline {
                panic!(
                    "{} printed no line containing {pattern:?} within {timeout:?}; its output so far:\n{}",
                    self.name,
                    self.output.text()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still
    /// running then. Once it has exited, its output is read to the end (for
    /// at most `EXIT_DRAIN`), so `output_so_far` holds all it printed.
    pub async fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                let drained_by = Instant::now() + EXIT_DRAIN;
                while !self.output.is_complete() && Instant::now() < drained_by {
                    tokio::time::sleep(POLL).await;
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGTERM, then waits for the exit; after 15 s, SIGKILL.
    pub async fn terminate(&self) -> ExitStatus {
        self.stop_with(libc::SIGTERM, TERMINATE_GRACE).await
    }

    /// SIGKILL to the process and everything it started, then waits for the
    /// exit.
    pub async fn kill(&self) -> ExitStatus {
        self.kill_tree();
        match self.wait_exit(KILL_REAP).await {
            Some(status) => status,
            None => panic!(
                "{} (pid {}) is still there {KILL_REAP:?} after SIGKILL: it is stuck in the kernel (check `ps -o stat {}`)",
                self.name, self.pid, self.pid
            ),
        }
    }

    /// Sends `signal` (e.g. `libc::SIGHUP`) to the process alone, if it is
    /// still running.
    pub fn send_signal(&self, signal: i32) {
        let child = self.child_if_running();
        if child.is_some() {
            // It has not been reaped (we hold the lock), so the pid is ours.
            let _ = signal::send(self.pid, signal);
        }
    }

    /// SIGSTOP to the process and everything it started: it stops answering
    /// but keeps its sockets open, like a hung server.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
        self.signal_tree(libc::SIGSTOP);
    }

    /// SIGCONT to the process and everything it started, undoing `freeze()`.
    pub fn thaw(&self) {
        self.signal_tree(libc::SIGCONT);
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// Sends a polite `signal`, waits up to `grace`, then SIGKILLs.
    pub(crate) async fn stop_with(&self, signal: i32, grace: Duration) -> ExitStatus {
        self.ask_to_stop(signal);
        match self.wait_exit(grace).await {
            Some(status) => status,
            None => self.kill().await,
        }
    }

    /// `stop_with` for Drop, where nothing can be awaited.
    pub(crate) fn stop_blocking(&self, signal: i32, grace: Duration) {
        self.ask_to_stop(signal);
        let deadline = Instant::now() + grace;
        while self.is_running() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        self.kill_blocking();
    }

    /// The output once the process has exited: waits briefly for its pipes
    /// to drain so the last lines (often the reason it died) are in.
    pub(crate) async fn final_output(&self) -> String {
        let deadline = Instant::now() + EXIT_DRAIN;
        while !self.output.is_complete() && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        self.output.text()
    }

    fn ask_to_stop(&self, signal: i32) {
        self.send_signal(signal);
        // A stopped process only acts on the signal once continued.
        if self.frozen.load(Ordering::SeqCst) {
            self.thaw();
        }
    }

    fn kill_blocking(&self) {
        if self.is_running() {
            self.kill_tree();
            let _ = self.child().wait();
        }
    }

    fn kill_tree(&self) {
        // SIGKILL ends stopped processes too: no SIGCONT needed.
        self.signal_tree(libc::SIGKILL);
    }

    fn signal_tree(&self, signal: i32) {
        let child = self.child_if_running();
        if child.is_some() {
            for pid in signal::tree(self.pid) {
                let _ = signal::send(pid, signal);
            }
        }
    }

    /// The locked child, or `None` if it has already exited.
    fn child_if_running(&self) -> Option<MutexGuard<'_, Child>> {
        let mut child = self.child();
        match child.try_wait() {
            Ok(None) => Some(child),
            _ => None,
        }
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        // Poisoned only by a panic in a test; stopping the child still works.
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump();
        }
        self.kill_blocking();
    }
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn waits_for_a_printed_line() {
        let process = Process::spawn("sh", &["-c", "echo hello; echo oops >&2"], &[]).unwrap();
        assert_eq!(process.wait_for_line("hell", 5 * SECOND).await, "hello");
        assert_eq!(process.wait_for_line("oops", 5 * SECOND).await, "oops");
        assert!(process.wait_exit(5 * SECOND).await.unwrap().success());
        assert_eq!(process.output_so_far().lines().count(), 2);
    }

    #[tokio::test]
    async fn passes_the_environment() {
        let process = Process::spawn(
            "sh",
            &["-c", "echo value=$GL_TESTBED"],
            &[("GL_TESTBED", "x")],
        )
        .unwrap();
        process.wait_for_line("value=x", 5 * SECOND).await;
    }

    #[tokio::test]
    #[should_panic(expected = "without printing a line containing \"never\"")]
    async fn a_wait_ends_when_the_process_exits() {
        let process = Process::spawn("sh", &["-c", "echo bye"], &[]).unwrap();
        process.wait_for_line("never", 30 * SECOND).await;
    }

    #[tokio::test]
    #[should_panic(expected = "printed no line containing \"never\" within")]
    async fn a_wait_times_out() {
        let process = Process::spawn("sleep", &["30"], &[]).unwrap();
        process
            .wait_for_line("never", Duration::from_millis(200))
            .await;
    }

    #[tokio::test]
    async fn terminate_and_kill_stop_the_process() {
        let process = Process::spawn("sleep", &["30"], &[]).unwrap();
        assert!(process.is_running());
        assert!(
            process
                .wait_exit(Duration::from_millis(100))
                .await
                .is_none()
        );
        let status = process.terminate().await;
        assert!(!status.success());
        assert!(!process.is_running());

        let process = Process::spawn("sleep", &["30"], &[]).unwrap();
        process.kill().await;
        assert!(!process.is_running());
    }

    #[tokio::test]
    async fn a_frozen_process_still_terminates() {
        let process = Process::spawn("sleep", &["30"], &[]).unwrap();
        process.freeze();
        process.terminate().await;
        assert!(!process.is_running());
    }

    #[tokio::test]
    async fn drop_kills_what_the_process_started() {
        let process =
            Process::spawn("sh", &["-c", "sleep 300 & echo started $!; wait"], &[]).unwrap();
        let line = process.wait_for_line("started", 5 * SECOND).await;
        let grandchild: u32 = line.trim_start_matches("started ").parse().unwrap();
        drop(process);
        crate::eventually("the grandchild to die", 5 * SECOND, || async {
            is_dead(grandchild).then_some(())
        })
        .await;
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let err = Process::spawn("/nonexistent/greenlight-nothing", &[], &[]).unwrap_err();
        assert!(format!("{err:#}").contains("cannot start greenlight-nothing"));
    }

    /// Gone, or a zombie nobody reaps (PID 1 in a container may not).
    fn is_dead(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat[stat.rfind(')').unwrap() + 1..]
                .trim_start()
                .starts_with('Z'),
        }
    }
}
