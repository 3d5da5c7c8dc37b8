//! Polling until something holds, for state that settles asynchronously.

use std::fmt::Display;
use std::future::Future;
// Wall-clock deadlines: what is polled runs in real time.
use std::time::{Duration, Instant};

/// Pause between attempts.
const POLL: Duration = Duration::from_millis(150);

/// The result of one attempt: `Some`/`Ok` ends the wait, `None`/`Err` says
/// why not yet.
pub trait Attempt<T> {
    fn into_result(self) -> Result<T, String>;
}

impl<T> Attempt<T> for Option<T> {
    fn into_result(self) -> Result<T, String> {
        self.ok_or_else(|| "the check returned None".to_owned())
    }
}

impl<T, E: Display> Attempt<T> for Result<T, E> {
    fn into_result(self) -> Result<T, String> {
        // `{:#}` shows an anyhow error's whole chain of causes.
        self.map_err(|err| format!("{err:#}"))
    }
}

/// Calls `f` every 150 ms until it returns `Some`/`Ok`, and returns that
/// value. Panics with `what` and the last failure once `timeout` has passed;
/// an attempt still running at the deadline is abandoned.
///
/// ```no_run
/// # async fn example(url: String) {
/// use std::time::Duration;
/// let body = greenlight_testbed::eventually("the backend to answer", Duration::from_secs(5), || async {
///     reqwest::get(&url).await?.text().await
/// })
/// .await;
/// # }
/// ```
pub async fn eventually<F, Fut, T>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: Attempt<T>,
{
    let deadline = Instant::now() + timeout;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        // Even a late first attempt gets a moment to answer.
        let budget = deadline.saturating_duration_since(Instant::now()).max(POLL);
        let last_failure = match tokio::time::timeout(budget, f()).await {
            Ok(outcome) => match outcome.into_result() {
                Ok(value) => return value,
                Err(failure) => failure,
            },
            Err(_) => "the attempt was still running at the deadline".to_owned(),
        };
        if Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} ({attempts} attempts) waiting for {what}; last attempt: {last_failure}"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_success() {
        let mut calls = 0;
        let value = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            let calls = calls;
            async move { (calls >= 3).then_some(calls) }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn accepts_results() {
        let value = eventually("ok", Duration::from_secs(1), || async {
            Ok::<_, anyhow::Error>(7)
        })
        .await;
        assert_eq!(value, 7);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for the impossible; last attempt: still no: because")]
    async fn panics_with_the_last_error() {
        eventually("the impossible", Duration::from_millis(300), || async {
            Err::<(), _>(anyhow::anyhow!("because").context("still no"))
        })
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "still running at the deadline")]
    async fn abandons_a_hung_attempt() {
        eventually("a hung check", Duration::from_millis(300), || async {
            std::future::pending::<Option<()>>().await
        })
        .await;
    }
}
