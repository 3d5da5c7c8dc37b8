//! A real prometheus-alertmanager: a stale agent fires there (checked
//! through Alertmanager's own API) and is resolved when the agent reports
//! again, long before Alertmanager's resolve_timeout would have ended it.

use greenlight_testbed::{Process, eventually, free_port, installed};
use serde_json::Value;

use super::story;
use crate::bed::{Bed, Dependencies, SETTLE};

struct Alertmanager {
    url: String,
    _process: Process,
}

impl Alertmanager {
    async fn start(bed: &Bed) -> Alertmanager {
        let dir = bed.dir.path().join("alertmanager");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = dir.join("alertmanager.yml");
        // resolve_timeout 1h: an alert gone within the test was ended by
        // greenlight's endsAt, not by Alertmanager expiring it.
        std::fs::write(
            &config,
            "global:\n  resolve_timeout: 1h\nroute:\n  receiver: nobody\nreceivers:\n  - name: nobody\n",
        )
        .unwrap();
        let port = free_port();
        let process = Process::spawn(
            installed::alertmanager().expect("prometheus-alertmanager"),
            &[
                &format!("--config.file={}", config.display()),
                &format!("--storage.path={}", dir.join("data").display()),
                &format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=",
            ],
            &[],
        )
        .expect("starting prometheus-alertmanager");
        let url = format!("http://127.0.0.1:{port}");
        let ready = format!("{url}/-/ready");
        eventually("Alertmanager ready", SETTLE, || async {
            let answer = reqwest::get(&ready).await.map_err(|e| e.to_string())?;
            answer
                .status()
                .is_success()
                .then_some(())
                .ok_or(format!("{}", answer.status()))
        })
        .await;
        Alertmanager {
            url,
            _process: process,
        }
    }

    /// GET /api/v2/alerts: the alerts Alertmanager holds now.
    async fn alerts(&self) -> Result<Vec<Value>, String> {
        let answer = reqwest::get(format!("{}/api/v2/alerts", self.url))
            .await
            .map_err(|e| e.to_string())?;
        let text = answer.text().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        Ok(value.as_array().cloned().unwrap_or_default())
    }

    async fn stale_agent_alert(&self) -> Result<Option<Value>, String> {
        Ok(self
            .alerts()
            .await?
            .into_iter()
            .find(|a| a["labels"]["greenlight_event"] == "stale_agent"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_agent_fires_in_alertmanager_and_is_resolved_when_it_reports_again() {
    let bed = Bed::new();
    let alertmanager = Alertmanager::start(&bed).await;
    let sinks = format!(
        "[[alerts.sink]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"{}\"\nrepost = \"5s\"\n",
        alertmanager.url
    );
    let aggregator = story::aggregator(&bed, &sinks).await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let none = || Dependencies {
        postgres: None,
        redis: None,
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, none(), "500ms");
    let green_agent = bed.agent("green", "green-1", &green, none(), "500ms");
    bed.verdict_where("green-1 reporting", SETTLE, |v| {
        v.agents.iter().any(|a| a.instance_id == "green-1")
    })
    .await;

    // Frozen: its reports stop, and after three intervals it is stale.
    green_agent.freeze();
    let fired = eventually("the stale agent in Alertmanager", SETTLE, || async {
        alertmanager
            .stale_agent_alert()
            .await?
            .ok_or("not yet".to_string())
    })
    .await;
    println!("in Alertmanager: {fired:#}");
    let labels = &fired["labels"];
    assert_eq!(labels["alertname"], "greenlight_stale_agent");
    assert_eq!(labels["deployment"], "escashop");
    assert_eq!(labels["color"], "green");
    assert_eq!(labels["severity"], "warning");
    assert_eq!(
        labels["greenlight_key"],
        "escashop/stale_agent/green/green-1"
    );
    let summary = fired["annotations"]["summary"].as_str().unwrap();
    assert!(summary.contains("green-1"), "{summary}");
    assert!(fired["startsAt"].as_str().is_some());
    assert_eq!(fired["status"]["state"], "active");

    // Posted again while firing (every 5 s here), so Alertmanager does not
    // expire it: its updatedAt moves on.
    let first_update = fired["updatedAt"].as_str().unwrap().to_string();
    let reposted = eventually("the alert posted again", SETTLE, || async {
        let alert = alertmanager
            .stale_agent_alert()
            .await?
            .ok_or("gone while the agent is frozen".to_string())?;
        let update = alert["updatedAt"].as_str().unwrap_or("").to_string();
        if update != first_update {
            Ok(update)
        } else {
            Err(format!("updatedAt still {update}"))
        }
    })
    .await;
    println!("updatedAt {first_update} -> {reposted}");

    green_agent.thaw();
    eventually("the alert resolved in Alertmanager", SETTLE, || async {
        match alertmanager.stale_agent_alert().await? {
            None => Ok(()),
            Some(alert) => Err(format!("still there: {alert}")),
        }
    })
    .await;
    let log = aggregator.output_so_far();
    assert!(!log.contains("alert delivery failed"), "{log}");
}
