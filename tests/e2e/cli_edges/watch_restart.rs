//! `greenlight watch` outlives its aggregator: stopped (SIGTERM) and
//! killed (SIGKILL), each time started again on the same port, the same
//! watch process says it lost and regained the aggregator and prints the
//! new aggregator's verdicts.

use greenlight_testbed::{Process, binary, eventually};

use crate::bed::{Bed, DEPLOYMENT, SETTLE};

/// The epochs of the JSON verdicts the watch printed so far.
fn epochs(watch: &Process) -> Vec<u64> {
    watch
        .output_so_far()
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            let verdict: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
            assert_eq!(verdict["deployment"], DEPLOYMENT, "{line}");
            verdict["epoch"]
                .as_u64()
                .expect("every verdict has an epoch")
        })
        .collect()
}

/// How many stderr notes containing `words` the watch printed.
fn notes(watch: &Process, words: &str) -> usize {
    watch
        .output_so_far()
        .lines()
        .filter(|line| line.starts_with("greenlight: ") && line.contains(words))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_aggregator_across_restarts() {
    let bed = Bed::new();
    let mut aggregator = bed.aggregator(None, "1s").await;
    let _pair = bed.pair(None).await;
    let url = bed.aggregator_url();
    let watch = Process::spawn(
        binary("greenlight"),
        &["--aggregator", &url, "watch", DEPLOYMENT, "--json"],
        &[],
    )
    .expect("starting greenlight watch");
    watch.wait_for_line("\"epoch\"", SETTLE).await;

    for (round, how) in ["SIGTERM", "SIGKILL"].into_iter().enumerate() {
        if how == "SIGTERM" {
            aggregator.terminate().await;
        } else {
            aggregator.kill().await;
        }
        // The old aggregator can say nothing more: this is all it said.
        let before = epochs(&watch);
        let newest_before = *before.iter().max().expect("verdicts before the restart");
        eventually(
            "the watch to say it lost the aggregator",
            SETTLE,
            || async { (notes(&watch, "lost the aggregator") > round).then_some(()) },
        )
        .await;
        assert!(
            watch.is_running(),
            "the watch ended when the aggregator stopped ({how})"
        );

        aggregator = bed.aggregator(None, "1s").await;
        eventually("a verdict of the restarted aggregator", SETTLE, || async {
            let after = epochs(&watch);
            let newest = after.iter().max().copied().unwrap_or_default();
            if after.len() > before.len() && newest > newest_before {
                Ok(())
            } else {
                Err(format!(
                    "epochs {after:?} (newest before the restart: {newest_before})"
                ))
            }
        })
        .await;
        assert!(
            notes(&watch, "regained the aggregator") > round,
            "said once it was back ({how}): {}",
            watch.output_so_far()
        );
        assert!(watch.is_running(), "the watch still runs after {how}");
        println!(
            "{how}: watch printed {} verdicts, newest epoch {newest_before} before, {:?} after",
            epochs(&watch).len(),
            epochs(&watch).iter().max()
        );
    }
    // Said once per loss, not once per retry.
    assert_eq!(
        notes(&watch, "lost the aggregator"),
        2,
        "{}",
        watch.output_so_far()
    );
    assert_eq!(
        notes(&watch, "regained the aggregator"),
        2,
        "{}",
        watch.output_so_far()
    );
    watch.terminate().await;
}
