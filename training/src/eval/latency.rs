//! How long a meter takes to light: from the moment an instrument enters (a stem onset, from the
//! stem's own audio) to the first analysis of the live engine, run over the mix as the plugin
//! runs it, whose probability for that class reaches its threshold. Measured for the engine's
//! raw output, for causal means of several lengths (what the plugin can do) and for the offline
//! centred mean `instrunet analyze` uses (which looks ahead, so it is no live option).

use instrunet_model::{Classifier, InstrumentClass, StreamAnalyzer};

use crate::data::audio::MonoAudio;
use crate::data::windows::StemEnergy;
use crate::eval::analyze::{centred_mean, run_engine};

/// Frames of stem audio whose RMS decides "sounding", seconds.
const FRAME_SECONDS: f64 = 0.05;
/// Silence of a class before a sound counts as an entry, seconds.
pub const MIN_GAP_SECONDS: f64 = 2.0;
/// An entry not detected within this many seconds counts as missed.
pub const MAX_LATENCY_SECONDS: f64 = 8.0;

/// How the engine's probabilities are turned into a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EngineOutput {
    /// Every analysis as it is.
    Raw,
    /// The mean of the analyses of the last so many seconds (the engine's causal mean).
    Causal(f32),
    /// The mean of the analyses within this many seconds, centred (offline only).
    Centred(f64),
}

impl std::fmt::Display for EngineOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Raw => write!(f, "raw"),
            Self::Causal(s) => write!(f, "causal mean of {s} s"),
            Self::Centred(s) => write!(f, "centred mean of {s} s (offline)"),
        }
    }
}

/// Where each class enters a track: onset times in seconds, from its stems' audio (any class
/// with several stems counts once: the union of their sound). A class sounds in a frame when
/// one of its stems' RMS there reaches `active_dbfs`; an entry is a sounding frame after at
/// least [`MIN_GAP_SECONDS`] without one (or the track's start), and entries earlier than
/// `earliest` seconds are left out (no analysis can come before the first whole window).
pub fn entries(
    stems: &[(InstrumentClass, &MonoAudio)],
    active_dbfs: f32,
    earliest: f64,
) -> Vec<(InstrumentClass, f64)> {
    let mut classes: Vec<InstrumentClass> = stems.iter().map(|(c, _)| *c).collect();
    classes.sort();
    classes.dedup();
    let mut out = Vec::new();
    for class in classes {
        let mut sounding: Vec<bool> = Vec::new();
        for (_, audio) in stems.iter().filter(|(c, _)| *c == class) {
            let frame = ((FRAME_SECONDS * audio.sample_rate as f64) as usize).max(1);
            let energy = StemEnergy::new(&audio.samples);
            for (i, a) in (0..audio.samples.len()).step_by(frame).enumerate() {
                if i >= sounding.len() {
                    sounding.push(false);
                }
                sounding[i] |= energy.active(a, a + frame, active_dbfs);
            }
        }
        let gap_frames = (MIN_GAP_SECONDS / FRAME_SECONDS).round() as usize;
        let mut silent_for = gap_frames; // the track's start counts as silence before it
        for (i, &on) in sounding.iter().enumerate() {
            if on {
                let t = i as f64 * FRAME_SECONDS;
                if silent_for >= gap_frames && t >= earliest {
                    out.push((class, t));
                }
                silent_for = 0;
            } else {
                silent_for += 1;
            }
        }
    }
    out
}

/// The engine's analyses of `mix`: (end time of each window, probabilities), at `hop_seconds`,
/// with the given smoothing.
pub fn analyses(
    classifier: Classifier,
    mix: &MonoAudio,
    hop_seconds: f32,
    smoothing: EngineOutput,
) -> anyhow::Result<(Vec<f64>, Vec<Vec<f32>>, Classifier)> {
    let mut engine = StreamAnalyzer::new(classifier, mix.sample_rate, hop_seconds)?;
    engine.set_smoothing_seconds(match smoothing {
        EngineOutput::Causal(s) => s,
        EngineOutput::Raw | EngineOutput::Centred(_) => 0.0,
    });
    let (times, mut probs) = run_engine(&mut engine, &mix.samples)?;
    if let EngineOutput::Centred(seconds) = smoothing {
        let radius = (seconds / 2.0 / engine.hop_seconds()).round() as usize;
        probs = centred_mean(&probs, radius);
    }
    Ok((times, probs, engine.into_classifier()))
}

/// Seconds from each entry to the first analysis at or after it whose probability for the class
/// reaches `thresholds[class]`; `None` when that takes longer than [`MAX_LATENCY_SECONDS`].
pub fn latencies(
    entries: &[(InstrumentClass, f64)],
    times: &[f64],
    probs: &[Vec<f32>],
    classes: &[String],
    thresholds: &[f32],
) -> Vec<(InstrumentClass, Option<f64>)> {
    entries
        .iter()
        .filter_map(|&(class, onset)| {
            let k = classes.iter().position(|n| n == class.name())?;
            let hit = times
                .iter()
                .zip(probs)
                .find(|(t, p)| **t >= onset && p[k] >= thresholds[k])
                .map(|(t, _)| t - onset)
                .filter(|l| *l <= MAX_LATENCY_SECONDS);
            Some((class, hit))
        })
        .collect()
}

/// Labels of the engine's analyses, by the training labels' rule: a class is present in the
/// analysis ending at `t` when one of its stems' RMS over the window before `t`
/// (`window_seconds`) reaches `active_dbfs`. Window-major, `classes.len()` per analysis.
pub fn analysis_labels(
    stems: &[(InstrumentClass, &MonoAudio)],
    active_dbfs: f32,
    times: &[f64],
    window_seconds: f64,
    classes: &[String],
) -> Vec<f32> {
    let mut labels = vec![0.0f32; times.len() * classes.len()];
    for (class, audio) in stems {
        let Some(k) = classes.iter().position(|n| n == class.name()) else {
            continue;
        };
        let energy = StemEnergy::new(&audio.samples);
        let rate = audio.sample_rate as f64;
        for (i, &t) in times.iter().enumerate() {
            let end = (t * rate).round() as usize;
            let start = ((t - window_seconds).max(0.0) * rate).round() as usize;
            if energy.active(start, end, active_dbfs) {
                labels[i * classes.len() + k] = 1.0;
            }
        }
    }
    labels
}

/// Median and 90th percentile of the detected latencies, and the share detected.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub entries: usize,
    pub detected: f64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

pub fn summarise(latencies: &[Option<f64>]) -> LatencySummary {
    let mut found: Vec<f64> = latencies.iter().flatten().copied().collect();
    found.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        (!found.is_empty()).then(|| found[((q * (found.len() - 1) as f64).round()) as usize])
    };
    LatencySummary {
        entries: latencies.len(),
        detected: found.len() as f64 / latencies.len().max(1) as f64,
        median_seconds: quantile(0.5),
        p90_seconds: quantile(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(rate: u32, spans: &[(f64, f64)], seconds: f64) -> MonoAudio {
        let samples = (0..(seconds * rate as f64) as usize)
            .map(|i| {
                let t = i as f64 / rate as f64;
                if spans.iter().any(|(a, b)| (*a..*b).contains(&t)) {
                    (0.3 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32
                } else {
                    0.0
                }
            })
            .collect();
        MonoAudio {
            samples,
            sample_rate: rate,
        }
    }

    #[test]
    fn entries_follow_silences_of_the_whole_class() {
        let a = clip(16_000, &[(1.0, 3.0), (3.5, 4.0), (7.0, 8.0)], 10.0);
        // A second stem of the same class fills the 4-7 s gap partly: 5-5.5.
        let b = clip(16_000, &[(5.0, 5.5)], 10.0);
        let piano = InstrumentClass::Piano;
        let e = entries(&[(piano, &a), (piano, &b)], -60.0, 0.0);
        let times: Vec<f64> = e.iter().map(|(_, t)| (t * 100.0).round() / 100.0).collect();
        // 1.0 (start), not 3.5 (0.5 s gap), not 5.0 (1 s gap), not 7.0 (1.5 s gap).
        assert_eq!(times, [1.0]);
        let e = entries(&[(piano, &a)], -60.0, 0.0);
        let times: Vec<f64> = e.iter().map(|(_, t)| (t * 100.0).round() / 100.0).collect();
        assert_eq!(times, [1.0, 7.0]);
        // Entries before the first whole window are left out.
        assert_eq!(entries(&[(piano, &a)], -60.0, 2.0).len(), 1);
    }

    #[test]
    fn analyses_are_labelled_by_the_stems_sound_in_the_window_before_them() {
        let a = clip(16_000, &[(3.0, 4.0)], 10.0);
        let classes = vec!["Bass".to_owned(), "Piano".to_owned()];
        let times = [2.0, 3.5, 5.9, 6.1];
        let l = analysis_labels(
            &[(InstrumentClass::Piano, &a)],
            -60.0,
            &times,
            2.0,
            &classes,
        );
        // Piano is column 1; the window before 6.1 s (4.1-6.1) holds none of it.
        assert_eq!(l, [0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn latency_is_the_first_analysis_over_the_threshold_at_or_after_the_entry() {
        let classes = vec!["Piano".to_owned(), "Bass".to_owned()];
        let times = [2.0, 2.25, 2.5, 2.75, 3.0];
        let p = |x: f32| vec![x, 0.0];
        let probs = [p(0.9), p(0.1), p(0.3), p(0.6), p(0.9)];
        let e = [(InstrumentClass::Piano, 2.2), (InstrumentClass::Bass, 2.0)];
        let l = latencies(&e, &times, &probs, &classes, &[0.5, 0.5]);
        assert_eq!(l[0].0, InstrumentClass::Piano);
        assert!((l[0].1.unwrap() - 0.55).abs() < 1e-9, "{:?}", l[0]);
        assert_eq!(l[1], (InstrumentClass::Bass, None));
        let s = summarise(&[Some(1.0), Some(3.0), None, Some(2.0)]);
        assert_eq!(s.entries, 4);
        assert_eq!(s.detected, 0.75);
        assert_eq!(s.median_seconds, Some(2.0));
        assert_eq!(s.p90_seconds, Some(3.0));
    }
}
