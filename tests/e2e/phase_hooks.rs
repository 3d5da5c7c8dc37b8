//! Issue 13, hooks at every phase, with real processes: a Verified hook
//! runs once per verified deployment, with its placeholders and
//! environment, and not again when a restarted aggregator restores the
//! Verified state from Redis; a deployment's own hooks (Verified, cutover)
//! replace the defaults, which another deployment keeps.

use std::path::Path;
use std::time::Duration;

use greenlight_proto::v1::Phase;
use greenlight_testbed::{Process, RedisServer, binary, eventually};

use crate::bed::{Bed, DEPLOYMENT, SETTLE, entered, history, path_str};

/// The guide's rules on a test's time scale, with a short bake.
const FAST_BAKE: &str =
    "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\nbake_for = \"5s\"\n";

/// A hook (TOML argv) that appends one line to `file`: its placeholders
/// `words` as expanded, then what its environment says.
fn recorder(file: &Path, words: &str) -> String {
    format!(
        "[\"sh\", \"-c\", \"echo \\\"$0 $1 env=$GREENLIGHT_ACTION/$GREENLIGHT_PHASE/$GREENLIGHT_FROM_PHASE/$GREENLIGHT_EPOCH\\\" >> {}\", {words}]",
        file.display()
    )
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

async fn first_line(what: &str, file: &Path) -> String {
    eventually(what, SETTLE, || async {
        lines(file)
            .first()
            .cloned()
            .ok_or_else(|| format!("{} is empty", file.display()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_hook_runs_once_and_not_again_after_a_restart() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let record = bed.dir.path().join("verified.log");
    let config = format!(
        "{FAST_BAKE}[hooks.verified]\ncommand = {}\n",
        recorder(
            &record,
            "\"{action}:{deployment}:retire-{from}\", \"{from_phase}-to-{phase}\""
        )
    );
    let aggregator = bed.aggregator_with(Some(&redis.url()), &config).await;
    let _pair = bed.pair(Some(&redis.url())).await;
    bed.cut_over_when_ready().await;
    let verified = bed
        .verdict_where("Verified", SETTLE, |v| v.phase() == Phase::Verified)
        .await;
    let epoch = entered(&verified, Phase::Verified).epoch;

    let line = first_line("the Verified hook's line", &record).await;
    assert_eq!(
        line,
        format!(
            "verified:{DEPLOYMENT}:retire-blue Baking-to-Verified env=verified/Verified/Baking/{epoch}"
        )
    );
    // Recorded like a switch hook: in the history, under its name.
    let run = eventually("the Verified hook's record", SETTLE, || async {
        history(&redis.url(), "hook")
            .await
            .into_iter()
            .find(|entry| entry.get::<String>("action").as_deref() == Some("verified"))
            .ok_or("no verified hook record")
    })
    .await;
    assert_eq!(run.get::<String>("outcome").as_deref(), Some("ok"));
    assert_eq!(run.get::<String>("epoch"), Some(epoch.to_string()));

    // Killed and restarted: the state comes back from Redis already
    // Verified, which is no new entry into Verified. (The step that entered
    // Verified was queued for Redis before the hook's record, which is
    // there: so is the saved state.)
    aggregator.kill().await;
    let _aggregator = bed.aggregator_with(Some(&redis.url()), &config).await;
    let restored = bed
        .verdict_where("restored", SETTLE, |v| v.epoch > verified.epoch)
        .await;
    assert_eq!(restored.phase(), Phase::Verified, "{:?}", restored.reasons);
    // A replayed entry would run the hook at once: nothing to wait for
    // but a window in which it does not happen.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still = bed.verdict_where("any verdict", SETTLE, |_| true).await;
    assert_eq!(still.phase(), Phase::Verified);
    assert_eq!(
        lines(&record),
        [line],
        "one run per verified deployment, none for the restore"
    );
}

/// A blue and a green backend with their agents, for `deployment`.
async fn pair_of(bed: &Bed, deployment: &str) -> Vec<Process> {
    let mut processes = Vec::new();
    for (color, version) in [("blue", "v3.0.0"), ("green", "v3.1.0")] {
        let (backend, address) = bed.backend(color, version).await;
        let config = bed
            .dir
            .path()
            .join(format!("agent-{deployment}-{color}.toml"));
        std::fs::write(
            &config,
            format!(
                "aggregator = \"{}\"\ndeployment = \"{deployment}\"\ncolor = \"{color}\"\ninstance_id = \"{deployment}-{color}-1\"\nbackend_version = \"v-{color}\"\ninterval = \"500ms\"\n[checks.http]\nurl = \"http://{address}/health\"\n[checks.traffic]\nurl = \"http://{address}/metrics\"\n",
                bed.aggregator_url()
            ),
        )
        .unwrap();
        let agent = Process::spawn(
            binary("greenlight-agent"),
            &["--config", path_str(&config)],
            &[("RUST_LOG", "info")],
        )
        .expect("starting greenlight-agent");
        processes.extend([backend, agent]);
    }
    processes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployments_own_hooks_override_the_defaults_another_keeps() {
    let bed = Bed::new();
    let file = |name: &str| bed.dir.path().join(name);
    let (default_verified, own_verified) = (file("default-verified"), file("own-verified"));
    let (default_cutover, own_cutover) = (file("default-cutover"), file("own-cutover"));
    let verified_words = "\"{deployment}\", \"{from}-to-{to}\"";
    let cutover_words = "\"{deployment}\", \"{direction}\"";
    let config = format!(
        "{FAST_BAKE}auto_cutover = true\n\
         [hooks.cutover]\ncommand = {}\n\
         [hooks.verified]\ncommand = {}\n\
         [deployments.{DEPLOYMENT}]\nlive = \"blue\"\n\
         [deployments.{DEPLOYMENT}.hooks.cutover]\ncommand = {}\n\
         [deployments.{DEPLOYMENT}.hooks.verified]\ncommand = {}\n\
         [deployments.admin]\nlive = \"blue\"\n",
        recorder(&default_cutover, cutover_words),
        recorder(&default_verified, verified_words),
        recorder(&own_cutover, cutover_words),
        recorder(&own_verified, verified_words),
    );
    let _aggregator = bed.aggregator_with(None, &config).await;
    let _escashop = bed.pair(None).await;
    let _admin = pair_of(&bed, "admin").await;

    // Each deployment cuts over by itself (auto_cutover) through its own
    // cutover hook or the default, bakes, and is Verified.
    let shop_verified = first_line("escashop's own Verified hook", &own_verified).await;
    let admin_verified = first_line("admin's Verified hook (the default)", &default_verified).await;
    assert!(
        shop_verified.starts_with(&format!(
            "{DEPLOYMENT} blue-to-green env=verified/Verified/Baking/"
        )),
        "{shop_verified}"
    );
    assert!(
        admin_verified.starts_with("admin blue-to-green env=verified/Verified/Baking/"),
        "{admin_verified}"
    );
    let shop_cutover = first_line("escashop's own cutover hook", &own_cutover).await;
    let admin_cutover = first_line("admin's cutover hook (the default)", &default_cutover).await;
    assert!(
        shop_cutover.starts_with(&format!("{DEPLOYMENT} blue-to-green env=cutover///")),
        "{shop_cutover}"
    );
    assert!(
        admin_cutover.starts_with("admin blue-to-green env=cutover///"),
        "{admin_cutover}"
    );
    // Each hook ran once, for its own deployment only (a second run would
    // come at once: a window in which it does not).
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (file, line) in [
        (&own_verified, &shop_verified),
        (&default_verified, &admin_verified),
        (&own_cutover, &shop_cutover),
        (&default_cutover, &admin_cutover),
    ] {
        assert_eq!(lines(file), [line.as_str()], "{}", file.display());
    }
}
