//! The thresholds of the engine: one versioned file, `config/thresholds.toml`, embedded in the
//! binary. Every number carries its source tag, so an inspector-facing rule can always say
//! whether it is published, recalled from a standard or proposed by us.
//!
//! Unknown keys are errors: a misspelt threshold must not silently fall back to nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::finding::Signature;

/// The embedded thresholds file.
pub const EMBEDDED: &str = include_str!("../config/thresholds.toml");

/// How far a number can be trusted (the tags of the research notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    /// A published rule or finding.
    Pub,
    /// Read in a public source, not itself a screening rule (emission limits).
    Src,
    /// Recalled from a standard whose text was not re-read.
    Mem,
    /// Proposed by us, to be calibrated.
    Prop,
}

/// A number with its provenance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub tag: Tag,
    pub source: String,
}

/// A text setting with its provenance (the set of flags S11 counts).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSetting {
    pub value: String,
    pub tag: Tag,
    pub source: String,
}

/// QA-state rules and engine-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qa {
    /// Below −this × range a value is out of range.
    pub negative_tolerance: Threshold,
    /// Valid minutes an hourly value needs (HJ 75).
    pub hour_valid_minutes: Threshold,
    /// Flow share of p90 above which the unit runs.
    pub running_flow_share: Threshold,
    /// Hours after a start-up before the unit runs steadily.
    pub settle_hours: Threshold,
    /// How far back (ahead) a detector looks for running hours to compare a window with.
    pub reach_hours: Threshold,
    /// Peers needed before peer statistics are used.
    pub min_peers: Threshold,
    /// Values kept per evidence window.
    pub evidence_points: Threshold,
}

/// S1 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantValue {
    pub min_hours: Threshold,
    pub alpha: Threshold,
    pub min_repeat: Threshold,
    pub max_repeat: Threshold,
    pub running_share: Threshold,
}

/// S7 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiChannelFlat {
    pub min_channels: Threshold,
    pub min_hours: Threshold,
    pub channel_alpha: Threshold,
}

/// S2 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrowBand {
    pub range_share: Threshold,
    pub min_hours: Threshold,
    pub min_running_hours: Threshold,
    pub vs_baseline: Threshold,
}

/// S3 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearDetectionLimit {
    pub multiple: Threshold,
    pub share: Threshold,
    pub window_hours: Threshold,
    pub min_hours: Threshold,
    pub baseline_multiple: Threshold,
}

/// S4 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitHugging {
    pub band_low: Threshold,
    pub min_share: Threshold,
    pub vs_peers: Threshold,
    pub max_over: Threshold,
    pub window_hours: Threshold,
    pub min_hours: Threshold,
}

/// S5 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dilution {
    pub o2_margin: Threshold,
    pub min_hours: Threshold,
    pub drop: Threshold,
    pub ambient_o2: Threshold,
    pub ambient_hours: Threshold,
    pub reference_hours: Threshold,
}

/// S6 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decoupling {
    pub window_hours: Threshold,
    pub min_baseline_corr: Threshold,
    pub drop: Threshold,
    pub min_flow_cv: Threshold,
    pub z_critical: Threshold,
    pub flat_flow_cv: Threshold,
}

/// S8 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopiedSeries {
    pub window_hours: Threshold,
    pub min_change_share: Threshold,
    pub scaled_window_hours: Threshold,
    pub scaled_min_steps: Threshold,
    pub scaled_min_turn_share: Threshold,
    pub scaled_tolerance_units: Threshold,
    pub scaled_min_spread: Threshold,
    pub min_scale: Threshold,
    pub max_lag_days: Threshold,
    pub day_min_pair_share: Threshold,
    pub day_tolerance_units: Threshold,
    pub day_min_spread: Threshold,
}

/// S9 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelShift {
    pub window_hours: Threshold,
    pub persist_hours: Threshold,
    pub mad_multiple: Threshold,
    pub event_mad_multiple: Threshold,
    pub min_drop: Threshold,
    pub event_hours: Threshold,
    pub night_from: Threshold,
    pub night_to: Threshold,
}

/// S10 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategicGaps {
    pub high_share: Threshold,
    pub lookback_hours: Threshold,
    pub min_gaps: Threshold,
    pub rate_ratio: Threshold,
    pub p_value: Threshold,
}

/// S11 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagAbuse {
    pub flags: TextSetting,
    pub exceedance_share: Threshold,
    pub min_exceedances: Threshold,
    pub rate_vs_peer_p95: Threshold,
    pub rate_floor: Threshold,
    pub min_flagged_hours: Threshold,
}

/// S12 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationAnomaly {
    pub identical_events: Threshold,
    pub tie_rate: Threshold,
    pub alpha: Threshold,
    pub zero_readings: Threshold,
    pub zero_drift: Threshold,
    pub drift_events: Threshold,
}

/// S13 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oversmooth {
    pub block_hours: Threshold,
    pub vs_baseline: Threshold,
}

/// S14 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitPreference {
    pub chi2_critical: Threshold,
    pub min_samples: Threshold,
    pub min_spread_units: Threshold,
    pub block_hours: Threshold,
}

/// S17 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoppedButRunning {
    pub flow_share: Threshold,
    pub max_o2: Threshold,
    pub min_hours: Threshold,
}

/// A raise of a lead's score when signatures occur together.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    pub signatures: Vec<Signature>,
    pub value: Threshold,
}

/// What a channel measures, which decides the signatures run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Pollutant,
    O2,
    Flow,
    Temperature,
    Other,
}

/// Defaults of one factor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorDefaults {
    pub role: Role,
    pub range: Option<f64>,
    pub detection_limit: Option<f64>,
    pub decimals: Option<u8>,
}

/// The factor table with its provenance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factors {
    pub tag: Tag,
    pub source: String,
    pub codes: BTreeMap<String, FactorDefaults>,
}

/// An industry: a peer group and its default limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Industry {
    pub name: String,
    pub limits: BTreeMap<String, Threshold>,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: String,
    pub qa: Qa,
    pub constant_value: ConstantValue,
    pub multi_channel_flat: MultiChannelFlat,
    pub narrow_band: NarrowBand,
    pub near_detection_limit: NearDetectionLimit,
    pub limit_hugging: LimitHugging,
    pub dilution: Dilution,
    pub decoupling: Decoupling,
    pub copied_series: CopiedSeries,
    pub level_shift: LevelShift,
    pub strategic_gaps: StrategicGaps,
    pub flag_abuse: FlagAbuse,
    pub calibration_anomaly: CalibrationAnomaly,
    pub oversmooth: Oversmooth,
    pub digit_preference: DigitPreference,
    pub stopped_but_running: StoppedButRunning,
    pub weights: BTreeMap<Signature, Threshold>,
    pub boost: Vec<Boost>,
    pub factors: Factors,
    pub industries: BTreeMap<String, Industry>,
}

/// A thresholds file that does not parse, or lacks a signature's weight.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("thresholds file: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("thresholds file: no weight for signature {0}")]
    MissingWeight(&'static str),
}

impl Config {
    /// Reads a thresholds file (the embedded one, or an override a deployment ships).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        for s in Signature::ALL {
            if !config.weights.contains_key(&s) {
                return Err(ConfigError::MissingWeight(s.id()));
            }
        }
        Ok(config)
    }

    /// The weight of a signature in a lead's score.
    pub fn weight(&self, s: Signature) -> f64 {
        self.weights.get(&s).map_or(0.0, |t| t.value)
    }

    /// The defaults of a factor code, if the table has it.
    pub fn factor(&self, code: &str) -> Option<&FactorDefaults> {
        self.factors.codes.get(code)
    }

    /// The default limit of a factor in an industry.
    pub fn limit(&self, industry: &str, factor: &str) -> Option<f64> {
        self.industries
            .get(industry)?
            .limits
            .get(factor)
            .map(|t| t.value)
    }
}

impl Default for Config {
    /// The embedded thresholds; a unit test proves they parse.
    fn default() -> Config {
        Config::from_toml(EMBEDDED).expect("the embedded thresholds file parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_file_parses_and_covers_every_signature() {
        let c = Config::default();
        assert!(!c.version.is_empty());
        for s in Signature::ALL {
            assert!(c.weight(s) > 0.0, "{}", s.id());
        }
        assert_eq!(c.limit("thermal_power", "a21026"), Some(35.0));
    }

    #[test]
    fn a_misspelt_threshold_is_an_error() {
        let bad = EMBEDDED.replace("min_hours = { value = 6,", "min_hour = { value = 6,");
        assert!(Config::from_toml(&bad).is_err());
    }
}
