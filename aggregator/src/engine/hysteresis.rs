//! Hysteresis for a traffic rule: the last 64 samples as bits, so pushing a
//! sample and asking "does it fire" cost a shift and a popcount.

use super::settings::HysteresisSettings;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampleHistory {
    /// Bit 0 is the newest sample; 1 = breached.
    bits: u64,
    /// Samples pushed, saturating at 64.
    len: u32,
}

impl SampleHistory {
    pub fn push(&mut self, breached: bool) {
        self.bits = (self.bits << 1) | u64::from(breached);
        self.len = (self.len + 1).min(64);
    }

    pub fn clear(&mut self) {
        *self = SampleHistory::default();
    }

    fn last(&self, count: u32) -> u64 {
        let count = count.min(self.len);
        if count == 0 {
            0
        } else if count >= 64 {
            self.bits
        } else {
            self.bits & ((1u64 << count) - 1)
        }
    }

    pub fn fires(&self, settings: HysteresisSettings) -> bool {
        let consecutive = settings.consecutive.clamp(1, 64);
        let all_recent =
            self.len >= consecutive && self.last(consecutive).count_ones() == consecutive;
        let k_of_n = self.last(settings.n.clamp(1, 64)).count_ones() >= settings.k.max(1);
        all_recent || k_of_n
    }

    /// Breaches among the last `n`, for explanations.
    pub fn breaches_of_last(&self, n: u32) -> u32 {
        self.last(n.clamp(1, 64)).count_ones()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: HysteresisSettings = HysteresisSettings {
        consecutive: 3,
        k: 6,
        n: 10,
    };

    fn history(samples: &[bool]) -> SampleHistory {
        let mut history = SampleHistory::default();
        for sample in samples {
            history.push(*sample);
        }
        history
    }

    #[test]
    fn one_bad_sample_does_not_fire() {
        assert!(!history(&[false, false, true]).fires(RULE));
        assert!(!history(&[true, false, false]).fires(RULE));
    }

    #[test]
    fn three_in_a_row_fire() {
        assert!(history(&[false, true, true, true]).fires(RULE));
    }

    #[test]
    fn flapping_every_other_sample_never_fires() {
        let flapping: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        for end in 1..=flapping.len() {
            assert!(!history(&flapping[..end]).fires(RULE), "after {end}");
        }
    }

    #[test]
    fn mostly_bad_fires_by_k_of_n_without_three_in_a_row() {
        let samples = [
            true, true, false, true, true, false, true, true, false, true, true,
        ];
        assert!(history(&samples).fires(RULE));
        assert_eq!(history(&samples).breaches_of_last(10), 7);
    }
}
