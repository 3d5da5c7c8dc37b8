//! Acceptance: what switch-traffic refuses, it explains in a line that says
//! what to fix, and traffic stays where it was: a wrong argument (exit 2), a
//! missing admin socket, a broken nginx config, a target HAProxy sees DOWN,
//! an epoch older than the last switch's (exit 1). Where traffic is, it
//! says only as read from the load balancer.

use std::time::Duration;

use greenlight_testbed::eventually;

use crate::bed::Bed;

use super::haproxy::Haproxy;
use super::load::color_of;
use super::nginx::{Nginx, wait_color};
use super::script::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_arguments_get_the_usage_and_exit_2() {
    let bed = Bed::new();
    let script = Script::new(bed.dir.path());
    for (args, says) in [
        (&[][..], "which way?"),
        (&["sideways"][..], "unknown argument 'sideways'"),
        (
            &["blue-to-green", "--backend", "carrier-pigeon"][..],
            "unknown backend 'carrier-pigeon'",
        ),
        (
            &["blue-to-green", "--backend"][..],
            "--backend needs a value",
        ),
        (
            &["blue-to-green", "green-to-blue"][..],
            "one direction only",
        ),
    ] {
        script
            .run(args)
            .await
            .expect_code(2, &format!("{args:?}"))
            .expect_said(says)
            .expect_said("Usage: switch-traffic blue-to-green|green-to-blue");
    }
    // A hook whose environment contradicts its argv, or a bad epoch.
    script
        .clone()
        .with("GREENLIGHT_TO", "blue")
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(2, "GREENLIGHT_TO=blue with blue-to-green")
        .expect_said("GREENLIGHT_TO=blue contradicts blue-to-green");
    script
        .clone()
        .with("GREENLIGHT_EPOCH", "seven")
        .run(&["green-to-blue"])
        .await
        .expect_code(2, "GREENLIGHT_EPOCH=seven")
        .expect_said("GREENLIGHT_EPOCH must be a whole number");
    script
        .run(&["--help"])
        .await
        .expect_code(0, "--help")
        .expect_said("Exit codes:")
        .expect_said("HAPROXY_SOCKET");
    assert!(script.log_lines().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_admin_socket_is_explained() {
    let bed = Bed::new();
    let socket = bed.dir.path().join("no-haproxy.sock");
    let script = Script::new(bed.dir.path())
        .with("HAPROXY_SOCKET", socket.to_str().expect("UTF-8"))
        .with("HAPROXY_STATE_FILE", "");
    for args in [&["blue-to-green", "--force"][..], &["green-to-blue"][..]] {
        let outcome = script.run(args).await;
        outcome
            .expect_code(1, &format!("{args:?} without HAProxy"))
            .expect_said(&format!(
                "HAProxy admin socket {} not found: is HAProxy running with `stats socket",
                socket.display()
            ));
        assert_eq!(
            outcome.stderr.lines().count(),
            1,
            "one line: {}",
            outcome.stderr
        );
    }
    assert!(script.log_lines().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_nginx_config_leaves_nginx_on_the_old_color() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let nginx = Nginx::start(&blue, &green).await;
    let script = nginx.script(Script::new(bed.dir.path()));

    // A typo in green's config: `proxy_pas`.
    let green_config = nginx.configs().join("nginx.green.conf");
    let good = std::fs::read_to_string(&green_config).unwrap();
    std::fs::write(&green_config, good.replace("proxy_pass ", "proxy_pas ")).unwrap();
    let site_before = std::fs::read(nginx.site()).unwrap();

    script
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(1, "a switch to a broken config")
        .expect_said("unknown directive \"proxy_pas\"")
        .expect_said("nginx -t rejects")
        .expect_said("put back, nginx not reloaded; traffic left on blue");
    assert_eq!(
        std::fs::read(nginx.site()).unwrap(),
        site_before,
        "the site file is blue's again"
    );
    assert_eq!(color_of(&nginx.url()).await.unwrap(), "blue");
    assert!(script.log_lines().is_empty());

    // Fixed, the same switch goes through.
    std::fs::write(&green_config, good).unwrap();
    script
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(0, "the switch once the config is fixed");
    wait_color(&nginx, "green").await;
    assert_eq!(script.log_lines().len(), 1);
}

/// Where traffic goes is said only as read: a site file edited by hand is
/// neither color, and the failed switch names no color it was "left on".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_of_neither_color_is_said_plainly_and_no_color_is_claimed() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let nginx = Nginx::start(&blue, &green).await;
    let script = nginx
        .script(Script::new(bed.dir.path()))
        .with("SWITCH_VERIFY_TIMEOUT", "1");
    let mut site = std::fs::read_to_string(nginx.site()).unwrap();
    site.push_str("\n# tuned by hand\n");
    std::fs::write(nginx.site(), &site).unwrap();
    let green_config = nginx.configs().join("nginx.green.conf");
    let good = std::fs::read_to_string(&green_config).unwrap();
    std::fs::write(&green_config, good.replace("proxy_pass ", "proxy_pas ")).unwrap();

    let outcome = script.run(&["blue-to-green", "--force"]).await;
    outcome
        .expect_code(1, "a switch to a broken config")
        .expect_said("Could not read which side nginx sends traffic to (the site file ")
        .expect_said("is neither ")
        .expect_said("nginx -t rejects")
        .expect_said("could not read which side nginx sends traffic to after putting it back (");
    assert!(
        !outcome.output().contains("traffic left on") && !outcome.output().contains("now: unknown"),
        "{}",
        outcome.output()
    );
    assert_eq!(
        std::fs::read_to_string(nginx.site()).unwrap(),
        site,
        "put back as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_to_a_server_haproxy_sees_down_is_refused_unless_forced() {
    let bed = Bed::new();
    let (blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy.script(Script::new(bed.dir.path()));
    script
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(0, "the cutover");

    // Blue dies while green carries the traffic; HAProxy's check notices.
    blue_backend.terminate().await;
    eventually(
        "HAProxy to see blue DOWN",
        Duration::from_secs(30),
        || async {
            let servers = haproxy.servers().await.ok()?;
            servers
                .iter()
                .any(|server| server.name == "blue" && server.op_state != 2)
                .then_some(())
        },
    )
    .await;

    script
        .run(&["green-to-blue"])
        .await
        .expect_code(1, "a rollback to a DOWN blue")
        .expect_said("says blue (blue, ")
        .expect_said(
            "is DOWN: not sending traffic there (--force to switch anyway); traffic stays on green",
        );
    assert_eq!(haproxy.live().await, "green");
    assert_eq!(color_of(&haproxy.url()).await.unwrap(), "green");

    script
        .run(&["green-to-blue", "--force"])
        .await
        .expect_code(0, "a forced rollback to a DOWN blue");
    assert_eq!(haproxy.live().await, "blue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_older_than_the_last_switch_is_refused() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy.script(Script::new(bed.dir.path()));
    let at = |epoch: &str| script.clone().with("GREENLIGHT_EPOCH", epoch);

    // Already on blue: nothing to do, but epoch 7 is now the last one acted on.
    at("7")
        .run(&["green-to-blue"])
        .await
        .expect_code(0, "a rollback to where traffic is")
        .expect_said("Traffic already goes to blue");
    at("6")
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(1, "epoch 6 after 7")
        .expect_said("epoch 6 is older than epoch 7 of the last switch");
    assert_eq!(haproxy.live().await, "blue");
    // The same epoch again is a retry of the same decision: allowed.
    at("7")
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(0, "epoch 7 again");
    assert_eq!(haproxy.live().await, "green");
    at("12")
        .run(&["green-to-blue"])
        .await
        .expect_code(0, "epoch 12");
    at("9")
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(1, "epoch 9 after 12");
    assert_eq!(haproxy.live().await, "blue");

    let epoch_file = script.log_path().with_extension("log.epoch");
    assert_eq!(std::fs::read_to_string(epoch_file).unwrap().trim(), "12");
    let log = script.log_lines();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log[0].ends_with("Traffic switched blue-to-green (backend haproxy, epoch 7, forced)"));
    assert!(
        log[1].ends_with("Traffic switched green-to-blue (backend haproxy, epoch 12, not forced)")
    );
}
