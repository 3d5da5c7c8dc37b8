//! The stories of the scenario corpus: the rules on the happy path and the
//! trust rules, told second by second.

use greenlight_proto::v1::Color;

use super::corpus::{baking, baking_with, blue_live, ok, standby};
use super::sim::{NAME, Sim, at, settings};

pub fn green_only_error_spike() -> Sim {
    // Without the baseline, so that the fixed 5% rule is the one that speaks.
    let mut sim = baking_with(|s| s.baseline.enabled = false);
    sim.run(30, &standby(), &ok(100));
    sim.run(30, &standby(), &ok(100).errors(0.2));
    sim
}

pub fn postgres_down_for_both() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    let down = "connection refused";
    sim.run(
        30,
        &standby().failing("postgres", down),
        &ok(100).failing("postgres", down),
    );
    sim
}

pub fn green_only_postgres_down() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.run(
        10,
        &standby(),
        &ok(100).failing("postgres", "connection refused"),
    );
    sim
}

pub fn one_bad_sample() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.second(&standby(), &ok(100).errors(0.3).failing("http", "HTTP 503"));
    sim.run(20, &standby(), &ok(100));
    sim
}

pub fn flapping_check() -> Sim {
    let mut sim = baking();
    for second in 0..280 {
        let green = if second % 2 == 0 {
            ok(100).failing("http", "HTTP 503")
        } else {
            ok(100)
        };
        sim.second(&standby(), &green);
    }
    sim
}

pub fn latency_creeping() -> Sim {
    let mut sim = baking();
    for step in 0..60 {
        let latency = 4.0 + f64::from(step) * 0.05;
        sim.second(&standby(), &ok(100).latency(latency));
    }
    sim
}

pub fn no_traffic() -> Sim {
    let mut sim = baking();
    sim.run(320, &standby(), &ok(0).errors(1.0));
    sim
}

pub fn baseline_regression() -> Sim {
    let mut sim = baking();
    sim.run(90, &standby(), &ok(100).errors(0.03));
    sim
}

pub fn baseline_equal() -> Sim {
    let mut sim = Sim::baking(settings(), &ok(100).errors(0.029));
    sim.run(310, &standby(), &ok(100).errors(0.03));
    sim
}

pub fn stream_lost() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.disconnect(Color::Green);
    sim.run(10, &standby(), &ok(100).silent());
    sim
}

pub fn health_failing_for(seconds: u32) -> Sim {
    let mut sim = baking();
    sim.run(10, &standby(), &ok(100));
    sim.run(seconds, &standby(), &ok(100).failing("http", "HTTP 503"));
    sim.run(5, &standby(), &ok(100));
    sim
}

pub fn health_failing_1m59s() -> Sim {
    health_failing_for(119)
}

pub fn health_failing_2m1s() -> Sim {
    health_failing_for(122)
}

pub fn bake_completes() -> Sim {
    let mut sim = baking();
    sim.run(301, &standby(), &ok(100));
    sim
}

pub fn duplicates_and_out_of_order() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    // One report with postgres failing, then its duplicate and an older one
    // replayed again and again: counted, they would make "database lost".
    let bad = sim.next_report(Color::Green, &ok(100).failing("postgres", "down"));
    let mut old = bad.clone();
    old.sequence -= 10;
    sim.send(Color::Green, bad.clone());
    for _ in 0..5 {
        sim.send(Color::Green, old.clone());
        sim.send(Color::Green, bad.clone());
    }
    sim.run(20, &standby(), &ok(100));
    sim
}

pub fn shared_redis_outage() -> Sim {
    let mut sim = baking();
    sim.run(10, &standby(), &ok(100));
    let down = "connection refused";
    sim.run(
        150,
        &standby().failing("redis", down),
        &ok(100).failing("redis", down),
    );
    sim
}

pub fn green_recovers_later_after_a_shared_outage() -> Sim {
    let mut sim = shared_redis_outage();
    let down = "connection refused";
    // Blue's agent reconnects first; green's takes 20 s longer.
    sim.run(20, &standby(), &ok(100).failing("redis", down));
    sim.run(20, &standby(), &ok(100));
    sim
}

pub fn manual_gate() -> Sim {
    let mut sim = Sim::new(settings());
    sim.run(80, &blue_live(), &ok(0));
    sim
}

pub fn auto_cutover() -> Sim {
    let mut settings = settings();
    settings.auto_cutover = true;
    let mut sim = Sim::new(settings);
    sim.run(30, &blue_live(), &ok(0));
    sim.run(30, &standby(), &ok(100));
    sim
}

pub fn dry_run_error_spike() -> Sim {
    let mut settings = settings();
    settings.auto_cutover = true;
    settings.dry_run = true;
    let mut sim = Sim::new(settings);
    sim.run(30, &blue_live(), &ok(100));
    sim
}

pub fn rollback_fires_once() -> Sim {
    let mut sim = green_only_error_spike();
    sim.run(120, &ok(100), &ok(100).errors(0.5));
    sim
}

pub fn rollback_target_unhealthy() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.run(
        30,
        &standby().failing("http", "HTTP 503"),
        &ok(100).errors(0.3),
    );
    sim
}

pub fn counter_reset() -> Sim {
    let mut sim = baking();
    sim.run(30, &standby(), &ok(100));
    // The green backend restarts: its counters start again from zero.
    sim.connect(Color::Green, "run-green-1");
    let mut report = sim.next_report(Color::Green, &ok(100));
    report.traffic.as_mut().unwrap().requests_total = 3;
    report.traffic.as_mut().unwrap().errors_total = 0;
    sim.send(Color::Green, report);
    sim.run(30, &standby(), &ok(100));
    sim
}

pub fn missing_data_opt_in() -> Sim {
    let mut sim = baking_with(|s| s.rollback_on_missing_data = true);
    sim.run(20, &standby(), &ok(100));
    sim.disconnect(Color::Green);
    sim.run(130, &standby(), &ok(100).silent());
    sim
}

pub fn redeploy_after_rollback() -> Sim {
    let mut sim = green_only_error_spike();
    sim.run(5, &ok(100), &ok(100).errors(0.5));
    sim.connect(Color::Green, "run-green-2");
    sim.run(5, &ok(100), &ok(0));
    sim
}

pub fn operator_rollback() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.engine
        .rollback(NAME, "customers report wrong totals", "alice", at(sim.now))
        .unwrap();
    sim.run(5, &ok(100), &ok(0));
    sim
}

pub fn paused_bake() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.engine
        .pause(NAME, "investigating", "bob", at(sim.now))
        .unwrap();
    sim.run(40, &standby(), &ok(100).errors(0.3));
    sim
}
