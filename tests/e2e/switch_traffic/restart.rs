//! Acceptance: the switch survives an HAProxy restart, because the script
//! saves `show servers state` into the server-state-file that the shipped
//! config loads at start.

use crate::bed::Bed;

use super::haproxy::Haproxy;
use super::load::color_of;
use super::script::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_restarted_after_a_switch_keeps_the_switched_color() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let mut haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy.script(Script::new(bed.dir.path()));

    for (direction, color) in [("blue-to-green", "green"), ("green-to-blue", "blue")] {
        script
            .run(&[direction, "--force"])
            .await
            .expect_code(0, direction);
        let saved = std::fs::read_to_string(haproxy.state_file())
            .expect("the script saved the server state");
        assert!(saved.starts_with("1\n# be_id "), "{saved}");

        haproxy.restart().await;
        assert_eq!(
            haproxy.live().await,
            color,
            "after {direction} and a restart"
        );
        assert_eq!(color_of(&haproxy.url()).await.unwrap(), color);
        // And the script sees it as switched.
        script
            .run(&[direction, "--force"])
            .await
            .expect_code(0, direction)
            .expect_said(&format!("Traffic already goes to {color}"));
    }
}
