//! Sleeping until a grid point in one wakeup. tokio's timer wheel wakes
//! the process twice for a deadline more than 64 ms away: once where the
//! deadline's coarse slot begins, to move it to a finer level, then at the
//! deadline. strace of one round at a 1 s interval showed exactly that
//! (`epoll_wait(.., 949) = 0`, then `epoll_wait(.., 48)`), one wakeup in
//! five of an agent that is otherwise asleep. A timerfd armed at the
//! absolute deadline lets epoll sleep the whole way.
//!
//! Only for the checks' rounds, which are long sleeps; short timers (probe
//! timeouts, the report's grace) stay tokio's. Where timerfd is missing or
//! fails, tokio's sleep is used: the same deadline, one wakeup more.

use std::io;
use std::sync::OnceLock;

use rustix::fd::OwnedFd;
use rustix::time::{
    ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, clock_gettime,
    timerfd_create, timerfd_settime,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

pub(crate) enum Alarm {
    Timerfd(AsyncFd<OwnedFd>),
    /// No timerfd: tokio's timer.
    Tokio,
}

impl Alarm {
    pub(crate) fn new() -> Self {
        match open_timerfd() {
            Ok(fd) => Alarm::Timerfd(fd),
            Err(error) => {
                tracing::debug!(%error, "no timerfd; rounds use tokio's timer");
                Alarm::Tokio
            }
        }
    }

    /// Returns at `deadline` (at once if it has passed). Cancel-safe: a
    /// dropped sleep leaves nothing behind that the next one would see.
    pub(crate) async fn sleep_until(&mut self, deadline: Instant) {
        if let Alarm::Timerfd(fd) = self {
            match timerfd_sleep(fd, deadline).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "timerfd failed; rounds use tokio's timer from now on");
                    *self = Alarm::Tokio;
                }
            }
        }
        tokio::time::sleep_until(deadline).await;
    }
}

fn open_timerfd() -> io::Result<AsyncFd<OwnedFd>> {
    let fd = timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )?;
    // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open
    // and the same until the AsyncFd is dropped.
    Ok(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?)
}

async fn timerfd_sleep(fd: &mut AsyncFd<OwnedFd>, deadline: Instant) -> io::Result<()> {
    let Some(at) = monotonic(deadline) else {
        return Ok(()); // already passed
    };
    // Arming resets the count of expirations: an earlier, cancelled sleep's
    // expiry is forgotten.
    let armed = Itimerspec {
        it_interval: Timespec::default(),
        it_value: at,
    };
    timerfd_settime(fd.get_ref(), TimerfdTimerFlags::ABSTIME, &armed)?;
    loop {
        let mut ready = fd.readable().await?;
        let mut expirations = [0u8; 8];
        match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut expirations)?)) {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => return Err(error),
            // Readiness left over from before the arming: wait again.
            Err(_would_block) => continue,
        }
    }
}

/// `deadline` on CLOCK_MONOTONIC (the clock std's `Instant` reads on
/// Linux), or `None` when it has passed. Every caller maps through the same
/// pair of readings, so equal deadlines give equal times and the checks'
/// timers expire together.
fn monotonic(deadline: Instant) -> Option<Timespec> {
    static ORIGIN: OnceLock<(std::time::Instant, Timespec)> = OnceLock::new();
    // Read in this order, the clock's reading is the later one, so a mapped
    // time errs late by that gap (below a microsecond), never early.
    let (origin, origin_clock) =
        *ORIGIN.get_or_init(|| (std::time::Instant::now(), clock_gettime(ClockId::Monotonic)));
    let deadline = deadline.into_std();
    if deadline <= std::time::Instant::now() {
        return None;
    }
    let ahead = Timespec::try_from(deadline.saturating_duration_since(origin)).ok()?;
    Some(origin_clock + ahead)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sleeps_until_the_deadline_and_no_longer() {
        let mut alarm = Alarm::new();
        assert!(matches!(alarm, Alarm::Timerfd(_)), "timerfd on Linux");
        for millis in [30, 80, 5] {
            let started = Instant::now();
            let deadline = started + Duration::from_millis(millis);
            alarm.sleep_until(deadline).await;
            let woke = Instant::now();
            assert!(woke >= deadline, "woke {:?} early", deadline - woke);
            // Generous: a shared machine may be slow to schedule us.
            assert!(woke - deadline < Duration::from_secs(2));
        }
    }

    #[tokio::test]
    async fn a_cancelled_sleep_does_not_cut_the_next_one_short() {
        let mut alarm = Alarm::new();
        let soon = Instant::now() + Duration::from_millis(20);
        // Cancelled before its deadline; the fd then expires unread.
        let cancelled = tokio::time::timeout(Duration::from_millis(5), alarm.sleep_until(soon));
        assert!(cancelled.await.is_err());
        tokio::time::sleep(Duration::from_millis(40)).await;
        let deadline = Instant::now() + Duration::from_millis(100);
        alarm.sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
    }

    #[tokio::test]
    async fn a_passed_deadline_returns_at_once() {
        let mut alarm = Alarm::new();
        let now = Instant::now();
        let passed = tokio::time::timeout(Duration::from_secs(5), alarm.sleep_until(now));
        assert!(passed.await.is_ok());
    }
}
