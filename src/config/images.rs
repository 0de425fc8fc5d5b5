//! `[images]`: the budget of the issue's own images, with its checks.

use serde::Deserialize;

use super::checks::{int_in, rule, Rule};

/// `[images]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    /// `check` warns about a processed image larger than this, KB.
    #[serde(default = "default_max_kb")]
    pub max_kb: u64,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            max_kb: default_max_kb(),
        }
    }
}

fn default_max_kb() -> u64 {
    200
}

impl Images {
    pub(super) fn rules(&self) -> Vec<Rule> {
        vec![rule(&["images", "max_kb"], int_in(self.max_kb, 1, 100_000))]
    }
}
