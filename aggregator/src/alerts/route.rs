//! Which events a sink wants: by kind and by deployment (each `None`: all).

use std::collections::BTreeSet;

use super::event::{AlertEvent, EventKind};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Route {
    pub events: Option<BTreeSet<EventKind>>,
    pub deployments: Option<BTreeSet<String>>,
}

impl Route {
    pub fn wants(&self, event: &AlertEvent) -> bool {
        let kind_ok = self
            .events
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&event.kind));
        let deployment_ok = self
            .deployments
            .as_ref()
            .is_none_or(|names| names.contains(&event.deployment));
        kind_ok && deployment_ok
    }
}
