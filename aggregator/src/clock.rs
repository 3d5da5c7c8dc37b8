//! Wall-clock time that follows tokio's clock, so `start_paused` tests move
//! the engine's `now` as well as the timers.

use std::time::SystemTime;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_at_start: SystemTime,
    instant_at_start: Instant,
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            wall_at_start: SystemTime::now(),
            instant_at_start: Instant::now(),
        }
    }

    pub fn now(&self) -> SystemTime {
        self.wall_at_start + self.instant_at_start.elapsed()
    }
}
