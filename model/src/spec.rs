//! What a weights file says about itself: classes, front-end settings, input normalisation,
//! decision thresholds and provenance.
//!
//! Every shared fact (the class list, the Mel settings, the window length) has its one definition
//! here, inside the weights file's safetensors `__metadata__` header. The front end, the network,
//! the plugin's meters and the training tools read it from a [`ModelSpec`], never from constants of
//! their own. Each entry of the header is a JSON string under its own key, so that
//! `safetensors.safe_open(path, "np").metadata()` in Python reads it too.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::classes::InstrumentClass;
use crate::error::WeightsError;

/// The value of the `format` metadata key in every InstruNET weights file.
pub const FORMAT_NAME: &str = "instrunet";
/// The weights-file format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Settings of the log-Mel front end (librosa's parameter names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MelSettings {
    /// Sample rate the model listens at, Hz (librosa `sr`).
    pub sample_rate: u32,
    /// FFT length and analysis-window length, samples (librosa `n_fft`, `win_length`).
    pub n_fft: usize,
    /// Distance between frames, samples (librosa `hop_length`).
    pub hop_length: usize,
    /// Number of Mel bands (librosa `n_mels`).
    pub n_mels: usize,
    /// Lowest filter edge, Hz (librosa `fmin`).
    pub fmin: f32,
    /// Highest filter edge, Hz (librosa `fmax`).
    pub fmax: f32,
    /// Frames in one model input window (128 frames = 2.06 s at the defaults).
    pub window_frames: usize,
}

impl Default for MelSettings {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 1024,
            hop_length: 256,
            n_mels: 128,
            fmin: 0.0,
            fmax: 8_000.0,
            window_frames: 128,
        }
    }
}

impl MelSettings {
    /// Samples spanned by one model window.
    pub fn window_samples(&self) -> usize {
        (self.window_frames - 1) * self.hop_length + self.n_fft
    }

    /// Length of one window of log-Mel values (`n_mels × window_frames`).
    pub fn window_len(&self) -> usize {
        self.n_mels * self.window_frames
    }

    /// Seconds spanned by one model window.
    pub fn window_seconds(&self) -> f64 {
        self.window_samples() as f64 / self.sample_rate as f64
    }

    fn validate(&self) -> Result<(), String> {
        if !(1000..=192_000).contains(&self.sample_rate) {
            return Err(format!(
                "sample_rate {} is outside 1000..=192000",
                self.sample_rate
            ));
        }
        if !(16..=65_536).contains(&self.n_fft) {
            return Err(format!("n_fft {} is outside 16..=65536", self.n_fft));
        }
        if self.hop_length == 0 || self.hop_length > self.n_fft {
            return Err(format!(
                "hop_length {} is not in 1..=n_fft",
                self.hop_length
            ));
        }
        if !(8..=512).contains(&self.n_mels) {
            return Err(format!("n_mels {} is outside 8..=512", self.n_mels));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.fmin >= 0.0 && self.fmin < self.fmax && self.fmax <= nyquist) {
            return Err(format!(
                "fmin {} / fmax {} must satisfy 0 <= fmin < fmax <= {nyquist}",
                self.fmin, self.fmax
            ));
        }
        // Three 2x2 max-pools need at least 8 cells on each axis.
        if !(8..=4096).contains(&self.window_frames) || self.n_mels < 8 {
            return Err(format!(
                "window_frames {} is outside 8..=4096",
                self.window_frames
            ));
        }
        Ok(())
    }
}

/// How a log-Mel window is normalised before it enters the network: `(x - mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean of the training set's log-Mel values, dB.
    pub mean: f32,
    /// Standard deviation of the training set's log-Mel values, dB.
    pub std: f32,
}

impl Default for Normalization {
    fn default() -> Self {
        // A neutral guess for untrained weights: dB values of music sit around -40 ± 20.
        Self {
            mean: -40.0,
            std: 20.0,
        }
    }
}

/// Which network a weights file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkKind {
    /// The paper's CNN, which the classifier and the plugin run (files written before the kind
    /// was recorded hold it).
    #[default]
    Instrunet,
    /// The paper's shallow feed-forward baseline, written and read by the training tool only.
    Baseline,
}

impl std::fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Instrunet => "instrunet",
            Self::Baseline => "baseline",
        })
    }
}

/// The network's shape where the paper leaves it open (and its block widths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkShape {
    /// Which network the tensors belong to.
    #[serde(default)]
    pub kind: NetworkKind,
    /// Frequency bands the adaptive average pool after the last block keeps (time is averaged
    /// out, see also `time_max`). 1 is a global average pool; more bands let the classifier see which
    /// register a pattern sits in, and widen the first fully connected layer to
    /// `conv_channels[2] × pool_bands` inputs.
    pub pool_bands: usize,
    /// Output channels of the three convolution blocks: the paper's 32/64/128, or wider (files
    /// written before this entry existed hold the paper's).
    #[serde(default = "NetworkShape::paper_channels")]
    pub conv_channels: [usize; 3],
    /// Blocks after the third at its width and without pooling (`conv4`, `conv5`, …): conv →
    /// BatchNorm → ReLU at the third block's resolution. 0 is the paper's network (files written
    /// before this entry existed); written only when not 0, so such files keep their header.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extra_blocks: usize,
    /// The pool also takes, in every frequency band, the maximum over time of the band's mean,
    /// scales it per feature by the `time_max_gate` tensor and adds it to the mean over time, so
    /// that a part heard in only a few frames of the window is not averaged away (PANNs' mean +
    /// max pooling, with a learnt weight). `false` is the paper's average pool (files written
    /// before this entry existed); written only when `true`, so such files keep their header.
    #[serde(default, skip_serializing_if = "is_false")]
    pub time_max: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl NetworkShape {
    /// The paper's block widths.
    pub const PAPER_CHANNELS: [usize; 3] = [32, 64, 128];
    /// The widest block a weights file may ask for.
    pub const MAX_CHANNELS: usize = 1024;
    /// Every block's width is a multiple of this, so that the CPU kernels' channel blocks tile
    /// every layer (they assert that their lane count divides it).
    pub const CHANNEL_MULTIPLE: usize = 8;
    /// The most blocks without pooling a weights file may add after the third.
    pub const MAX_EXTRA_BLOCKS: usize = 4;

    /// Convolution blocks in all: the three pooling ones and the extra ones.
    pub fn n_blocks(&self) -> usize {
        3 + self.extra_blocks
    }

    /// Output channels of every block, in order (extra blocks keep the third's width).
    pub fn block_channels(&self) -> Vec<usize> {
        let mut c = self.conv_channels.to_vec();
        c.extend(std::iter::repeat_n(
            self.conv_channels[2],
            self.extra_blocks,
        ));
        c
    }

    fn paper_channels() -> [usize; 3] {
        Self::PAPER_CHANNELS
    }
}

impl Default for NetworkShape {
    /// The paper's widths and a global average pool (what files without a `network` entry hold).
    fn default() -> Self {
        Self {
            kind: NetworkKind::Instrunet,
            pool_bands: 1,
            conv_channels: Self::PAPER_CHANNELS,
            extra_blocks: 0,
            time_max: false,
        }
    }
}

/// What the live engine does to each analysis's probabilities before the thresholds, which are
/// tuned for its output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Smoothing {
    /// Length of a causal mean, seconds: each reported analysis is the mean of the analyses of
    /// the last `causal_seconds` (itself included; at least itself). 0 reports every analysis as
    /// it is (files written before this entry existed).
    #[serde(default)]
    pub causal_seconds: f32,
}

impl Smoothing {
    /// The longest causal mean a weights file may ask for, seconds.
    pub const MAX_CAUSAL_SECONDS: f32 = 10.0;
}

/// Where a weights file came from. Free-form beyond these fields; training fills it in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// What the model learnt from (data set, SoundFonts, song counts), or why it learnt nothing.
    pub data: String,
    /// Training epochs run (0 for an untrained initialisation).
    pub epochs: u32,
    /// Metrics on held-out data, by name.
    #[serde(default)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Anything else worth knowing (command line, seed, date, notes).
    #[serde(default)]
    pub notes: String,
}

/// Everything a weights file says about the model it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Class names, in the order of the network's outputs.
    pub classes: Vec<String>,
    /// Front-end settings the model was trained with.
    pub mel: MelSettings,
    /// Input normalisation.
    pub normalization: Normalization,
    /// The network's open shape choices.
    pub network: NetworkShape,
    /// Per-class decision thresholds on the probabilities, in class order.
    pub thresholds: Vec<f32>,
    /// What the live engine does to the probabilities before the thresholds.
    pub smoothing: Smoothing,
    /// Where the weights came from.
    pub provenance: Provenance,
}

/// Metadata keys, one JSON value each.
mod key {
    pub const FORMAT: &str = "format";
    pub const VERSION: &str = "format_version";
    pub const CLASSES: &str = "classes";
    pub const FRONTEND: &str = "frontend";
    pub const NORMALIZATION: &str = "normalization";
    /// Optional: absent in files written before it existed (a global average pool).
    pub const NETWORK: &str = "network";
    pub const THRESHOLDS: &str = "thresholds";
    /// Optional: absent in files written before it existed (no smoothing).
    pub const SMOOTHING: &str = "smoothing";
    pub const PROVENANCE: &str = "provenance";
}

/// The decision threshold on a probability before one is tuned (new weights, a class with no
/// positive example to tune on, the plugin's single threshold for all classes).
pub const DEFAULT_THRESHOLD: f32 = 0.5;

impl ModelSpec {
    /// A spec for new weights with InstruNET's 14 classes, default front end and thresholds of
    /// [`DEFAULT_THRESHOLD`].
    pub fn new_default(provenance: Provenance) -> Self {
        let classes = InstrumentClass::all_names();
        let thresholds = vec![DEFAULT_THRESHOLD; classes.len()];
        Self {
            classes,
            mel: MelSettings::default(),
            normalization: Normalization::default(),
            network: NetworkShape::default(),
            thresholds,
            smoothing: Smoothing::default(),
            provenance,
        }
    }

    /// Number of classes (the network's output width).
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Checks that the spec is self-consistent.
    pub fn validate(&self) -> Result<(), WeightsError> {
        let bad = |key: &str, reason: String| WeightsError::BadMetadata {
            key: key.to_owned(),
            reason,
        };
        if self.classes.is_empty() {
            return Err(bad(key::CLASSES, "the class list is empty".into()));
        }
        let mut names = self.classes.clone();
        names.sort();
        names.dedup();
        if names.len() != self.classes.len() {
            return Err(bad(key::CLASSES, "class names are not unique".into()));
        }
        if self.classes.iter().any(|c| c.trim().is_empty()) {
            return Err(bad(key::CLASSES, "a class name is empty".into()));
        }
        self.mel.validate().map_err(|r| bad(key::FRONTEND, r))?;
        let n = &self.normalization;
        if !(n.mean.is_finite() && n.std.is_finite() && n.std > 0.0) {
            return Err(bad(
                key::NORMALIZATION,
                format!(
                    "mean {} / std {} must be finite with std > 0",
                    n.mean, n.std
                ),
            ));
        }
        // After three 2×2 pools at least one row must fall in every band.
        let bands = self.network.pool_bands;
        if bands == 0 || bands > self.mel.n_mels / 8 {
            return Err(bad(
                key::NETWORK,
                format!(
                    "pool_bands {bands} must be between 1 and n_mels / 8 = {}",
                    self.mel.n_mels / 8
                ),
            ));
        }
        // Bounded so that a corrupt file cannot ask for gigabytes of weights.
        let (channels, max, lanes) = (
            self.network.conv_channels,
            NetworkShape::MAX_CHANNELS,
            NetworkShape::CHANNEL_MULTIPLE,
        );
        if channels
            .iter()
            .any(|&c| c == 0 || c % lanes != 0 || c > max)
        {
            return Err(bad(
                key::NETWORK,
                format!(
                    "conv_channels {channels:?} must each be a multiple of {lanes} from {lanes} to {max}"
                ),
            ));
        }
        if self.network.extra_blocks > NetworkShape::MAX_EXTRA_BLOCKS {
            return Err(bad(
                key::NETWORK,
                format!(
                    "extra_blocks {} must be at most {}",
                    self.network.extra_blocks,
                    NetworkShape::MAX_EXTRA_BLOCKS
                ),
            ));
        }
        let causal = self.smoothing.causal_seconds;
        if !(0.0..=Smoothing::MAX_CAUSAL_SECONDS).contains(&causal) {
            return Err(bad(
                key::SMOOTHING,
                format!(
                    "causal_seconds {causal} must be between 0 and {}",
                    Smoothing::MAX_CAUSAL_SECONDS
                ),
            ));
        }
        if self.thresholds.len() != self.classes.len() {
            return Err(WeightsError::ClassCount {
                what: "thresholds".into(),
                expected: self.classes.len(),
                got: self.thresholds.len(),
            });
        }
        if let Some((i, t)) = self
            .thresholds
            .iter()
            .enumerate()
            .find(|(_, t)| !(t.is_finite() && (0.0..=1.0).contains(*t)))
        {
            return Err(bad(
                key::THRESHOLDS,
                format!(
                    "threshold {t} for class {:?} is not in [0, 1]",
                    self.classes[i]
                ),
            ));
        }
        Ok(())
    }

    /// The safetensors `__metadata__` entries for this spec.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let json = |v: serde_json::Value| v.to_string();
        HashMap::from([
            (key::FORMAT.to_owned(), FORMAT_NAME.to_owned()),
            (key::VERSION.to_owned(), FORMAT_VERSION.to_string()),
            (
                key::CLASSES.to_owned(),
                json(serde_json::json!(self.classes)),
            ),
            (key::FRONTEND.to_owned(), json(serde_json::json!(self.mel))),
            (
                key::NORMALIZATION.to_owned(),
                json(serde_json::json!(self.normalization)),
            ),
            (
                key::NETWORK.to_owned(),
                json(serde_json::json!(self.network)),
            ),
            (
                key::THRESHOLDS.to_owned(),
                json(serde_json::json!(self.thresholds)),
            ),
            (
                key::SMOOTHING.to_owned(),
                json(serde_json::json!(self.smoothing)),
            ),
            (
                key::PROVENANCE.to_owned(),
                json(serde_json::json!(self.provenance)),
            ),
        ])
    }

    /// Reads and validates a spec from safetensors `__metadata__` entries.
    pub fn from_metadata(meta: Option<&HashMap<String, String>>) -> Result<Self, WeightsError> {
        let meta = meta.ok_or_else(|| WeightsError::MissingMetadata("__metadata__".into()))?;
        let get = |k: &str| {
            meta.get(k)
                .ok_or_else(|| WeightsError::MissingMetadata(k.to_owned()))
        };
        let format = get(key::FORMAT)?;
        if format != FORMAT_NAME {
            return Err(WeightsError::BadMetadata {
                key: key::FORMAT.into(),
                reason: format!("expected {FORMAT_NAME:?}, found {format:?}"),
            });
        }
        let version_text = get(key::VERSION)?;
        let version: u32 = version_text
            .trim()
            .parse()
            .map_err(|_| WeightsError::BadMetadata {
                key: key::VERSION.into(),
                reason: format!("{version_text:?} is not a version number"),
            })?;
        if version != FORMAT_VERSION {
            return Err(WeightsError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        fn parse<T: serde::de::DeserializeOwned>(k: &str, text: &str) -> Result<T, WeightsError> {
            serde_json::from_str(text).map_err(|e| WeightsError::BadMetadata {
                key: k.to_owned(),
                reason: e.to_string(),
            })
        }
        let spec = ModelSpec {
            classes: parse(key::CLASSES, get(key::CLASSES)?)?,
            mel: parse(key::FRONTEND, get(key::FRONTEND)?)?,
            normalization: parse(key::NORMALIZATION, get(key::NORMALIZATION)?)?,
            network: match meta.get(key::NETWORK) {
                Some(text) => parse(key::NETWORK, text)?,
                None => NetworkShape::default(),
            },
            thresholds: parse(key::THRESHOLDS, get(key::THRESHOLDS)?)?,
            smoothing: match meta.get(key::SMOOTHING) {
                Some(text) => parse(key::SMOOTHING, text)?,
                None => Smoothing::default(),
            },
            provenance: parse(key::PROVENANCE, get(key::PROVENANCE)?)?,
        };
        spec.validate()?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_front_end_matches_the_issue() {
        let m = MelSettings::default();
        assert_eq!(
            (m.sample_rate, m.n_fft, m.hop_length, m.n_mels),
            (16_000, 1024, 256, 128)
        );
        assert_eq!((m.fmin, m.fmax, m.window_frames), (0.0, 8000.0, 128));
        assert_eq!(m.window_samples(), 127 * 256 + 1024);
        assert!((m.window_seconds() - 2.096).abs() < 1e-3);
    }

    #[test]
    fn metadata_round_trips() {
        let mut spec = ModelSpec::new_default(Provenance {
            data: "test".into(),
            epochs: 3,
            metrics: serde_json::json!({"macro_f1": 0.5})
                .as_object()
                .unwrap()
                .clone(),
            notes: "n".into(),
        });
        spec.thresholds[2] = 0.25;
        spec.normalization = Normalization {
            mean: -31.5,
            std: 17.25,
        };
        let back = ModelSpec::from_metadata(Some(&spec.to_metadata())).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn every_missing_key_is_named() {
        let full = ModelSpec::new_default(Provenance::default()).to_metadata();
        // The optional entries are covered by their own tests.
        for k in full
            .keys()
            .filter(|k| *k != key::NETWORK && *k != key::SMOOTHING)
        {
            let mut meta = full.clone();
            meta.remove(k);
            match ModelSpec::from_metadata(Some(&meta)) {
                Err(WeightsError::MissingMetadata(name)) => assert_eq!(&name, k),
                other => panic!("removing {k}: {other:?}"),
            }
        }
        assert!(matches!(
            ModelSpec::from_metadata(None),
            Err(WeightsError::MissingMetadata(_))
        ));
    }

    #[test]
    fn unknown_version_and_foreign_format_are_refused() {
        let mut meta = ModelSpec::new_default(Provenance::default()).to_metadata();
        meta.insert("format_version".into(), "2".into());
        assert!(matches!(
            ModelSpec::from_metadata(Some(&meta)),
            Err(WeightsError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        ));
        meta.insert("format_version".into(), "one".into());
        assert!(matches!(
            ModelSpec::from_metadata(Some(&meta)),
            Err(WeightsError::BadMetadata { .. })
        ));
        let mut meta = ModelSpec::new_default(Provenance::default()).to_metadata();
        meta.insert("format".into(), "pt".into());
        assert!(matches!(
            ModelSpec::from_metadata(Some(&meta)),
            Err(WeightsError::BadMetadata { .. })
        ));
    }

    #[test]
    fn inconsistent_specs_are_refused() {
        let base = ModelSpec::new_default(Provenance::default());
        let mut s = base.clone();
        s.thresholds.pop();
        assert!(matches!(s.validate(), Err(WeightsError::ClassCount { .. })));
        let mut s = base.clone();
        s.classes[1] = s.classes[0].clone();
        assert!(s.validate().is_err());
        let mut s = base.clone();
        s.mel.fmax = 9000.0;
        assert!(s.validate().is_err());
        let mut s = base.clone();
        s.normalization.std = 0.0;
        assert!(s.validate().is_err());
        let mut s = base.clone();
        s.thresholds[0] = f32::NAN;
        assert!(s.validate().is_err());
        let mut s = base;
        s.mel.hop_length = 0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn files_without_a_network_entry_have_a_global_pool() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.pool_bands = 4;
        let mut meta = spec.to_metadata();
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        meta.remove(key::NETWORK);
        let back = ModelSpec::from_metadata(Some(&meta)).unwrap();
        assert_eq!(back.network.pool_bands, 1);
        let mut s = spec.clone();
        s.network.pool_bands = 0;
        assert!(s.validate().is_err());
        s.network.pool_bands = 17;
        assert!(s.validate().is_err());
    }

    #[test]
    fn block_widths_round_trip_and_default_to_the_papers() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = [32, 64, 256];
        let mut meta = spec.to_metadata();
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        // A `network` entry written before the widths were recorded.
        meta.insert(key::NETWORK.into(), "{\"pool_bands\": 8}".into());
        let back = ModelSpec::from_metadata(Some(&meta)).unwrap();
        assert_eq!(back.network.conv_channels, NetworkShape::PAPER_CHANNELS);
        assert_eq!(back.network.pool_bands, 8);
        for bad in [
            [0, 64, 128],
            [32, 60, 128],
            [32, 64, NetworkShape::MAX_CHANNELS + 8],
        ] {
            spec.network.conv_channels = bad;
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains("conv_channels"), "{err}");
        }
    }

    #[test]
    fn time_max_round_trips_and_is_absent_when_off() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        // Files without it keep the header they had before the entry existed.
        assert!(!spec.to_metadata()[key::NETWORK].contains("time_max"));
        spec.network.time_max = true;
        let meta = spec.to_metadata();
        assert!(meta[key::NETWORK].contains("\"time_max\":true"));
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        // Its gate is one of the tensors the file must hold.
        let shapes = crate::shape::tensor_shapes(&spec);
        let gate = shapes
            .iter()
            .find(|(n, _)| n == crate::shape::TIME_MAX_GATE);
        assert_eq!(gate.map(|(_, s)| s.clone()), Some(vec![128]));
    }

    #[test]
    fn extra_blocks_round_trip_are_bounded_and_absent_when_none() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = [32, 64, 256];
        let meta = spec.to_metadata();
        // Files of the paper's depth keep the header they had before the entry existed.
        assert!(!meta[key::NETWORK].contains("extra_blocks"));
        spec.network.extra_blocks = 2;
        let meta = spec.to_metadata();
        assert!(meta[key::NETWORK].contains("\"extra_blocks\":2"));
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        assert_eq!(spec.network.n_blocks(), 5);
        assert_eq!(spec.network.block_channels(), [32, 64, 256, 256, 256]);
        spec.network.extra_blocks = NetworkShape::MAX_EXTRA_BLOCKS + 1;
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("extra_blocks"), "{err}");
    }

    #[test]
    fn the_network_kind_round_trips_and_defaults_to_instrunet() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.kind = NetworkKind::Baseline;
        let mut meta = spec.to_metadata();
        assert!(meta[key::NETWORK].contains("\"kind\":\"baseline\""));
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        // A `network` entry written before the kind was recorded.
        meta.insert(key::NETWORK.into(), "{\"pool_bands\": 8}".into());
        let back = ModelSpec::from_metadata(Some(&meta)).unwrap();
        assert_eq!(back.network.kind, NetworkKind::Instrunet);
        meta.insert(key::NETWORK.into(), "{\"kind\": \"transformer\"}".into());
        let err = ModelSpec::from_metadata(Some(&meta))
            .unwrap_err()
            .to_string();
        assert!(err.contains("network"), "{err}");
    }

    #[test]
    fn smoothing_round_trips_defaults_to_none_and_is_bounded() {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.smoothing.causal_seconds = 1.5;
        let mut meta = spec.to_metadata();
        assert_eq!(ModelSpec::from_metadata(Some(&meta)).unwrap(), spec);
        meta.remove(key::SMOOTHING);
        let back = ModelSpec::from_metadata(Some(&meta)).unwrap();
        assert_eq!(back.smoothing, Smoothing::default());
        for bad in [-0.5, f32::NAN, Smoothing::MAX_CAUSAL_SECONDS + 1.0] {
            spec.smoothing.causal_seconds = bad;
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains("smoothing"), "{bad}: {err}");
        }
    }

    #[test]
    fn malformed_json_names_its_key() {
        let mut meta = ModelSpec::new_default(Provenance::default()).to_metadata();
        meta.insert("frontend".into(), "{\"sample_rate\": 16000".into());
        match ModelSpec::from_metadata(Some(&meta)) {
            Err(WeightsError::BadMetadata { key, .. }) => assert_eq!(key, "frontend"),
            other => panic!("{other:?}"),
        }
    }
}
