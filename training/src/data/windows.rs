//! Cutting a track into model windows and labelling each window from its stems.
//!
//! Window `k` covers the log-Mel frames `k·stride .. k·stride + window_frames` of the mix, i.e. the
//! samples `k·stride·hop .. k·stride·hop + window_samples`. A class is present in a window when
//! one of its stems is active there: the stem's RMS over the window's samples is at least
//! [`WindowSettings::active_dbfs`], in dB relative to full scale (a full-scale sine is −3 dBFS).
//! A stem that metadata.yaml lists but that is silent in a window does not label it.

use instrunet_model::{InstrumentClass, MelFrontend, ModelSpec, frames_to_window};

use crate::data::resample::ClipResampler;
use crate::data::slakh::Track;
use crate::error::DataError;

/// How windows are cut and labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSettings {
    /// Frames between the starts of consecutive windows (64 frames = 1.02 s at the defaults).
    pub stride_frames: usize,
    /// A stem is active in a window when its RMS there is at least this many dB below full scale.
    pub active_dbfs: f32,
}

impl Default for WindowSettings {
    fn default() -> Self {
        // −60 dBFS: well above dither and reverb tails, well below any played note.
        Self {
            stride_frames: 64,
            active_dbfs: -60.0,
        }
    }
}

/// A track's windows (raw log-Mel dB, mel-major, back to back) and their labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelledWindows {
    /// `len() × n_mels × window_frames` values.
    pub windows: Vec<f32>,
    /// `len() × n_classes` values, 1.0 for present.
    pub labels: Vec<f32>,
    /// First sample of each window, at the model's rate.
    pub start_samples: Vec<usize>,
}

impl LabelledWindows {
    pub fn len(&self) -> usize {
        self.start_samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.start_samples.is_empty()
    }
}

/// Windows and labels for a mix and its stems, all at the model's rate and of equal length.
pub fn label_windows(
    mix: &[f32],
    stems: &[(InstrumentClass, &[f32])],
    spec: &ModelSpec,
    settings: &WindowSettings,
) -> Result<LabelledWindows, String> {
    if settings.stride_frames == 0 {
        return Err("the window stride must be at least one frame".into());
    }
    let mel = &spec.mel;
    let class_index: Vec<usize> = stems
        .iter()
        .map(|(c, _)| {
            spec.classes
                .iter()
                .position(|n| n == c.name())
                .ok_or_else(|| format!("class {c} is not in the model's class list"))
        })
        .collect::<Result<_, _>>()?;
    let mut frontend = MelFrontend::new(mel);
    let frames = frontend.spectrogram(mix);
    let n_frames = frames.len() / mel.n_mels;
    let energy: Vec<StemEnergy> = stems.iter().map(|(_, s)| StemEnergy::new(s)).collect();
    let (n_classes, win_len) = (spec.n_classes(), mel.window_len());
    let mut out = LabelledWindows::default();
    let mut window = vec![0.0; win_len];
    let mut k = 0;
    while k * settings.stride_frames + mel.window_frames <= n_frames {
        let f0 = k * settings.stride_frames;
        frames_to_window(
            &frames[f0 * mel.n_mels..(f0 + mel.window_frames) * mel.n_mels],
            mel.n_mels,
            &mut window,
        )
        .map_err(|e| e.to_string())?;
        out.windows.extend_from_slice(&window);
        let (a, b) = (
            f0 * mel.hop_length,
            (f0 * mel.hop_length + mel.window_samples()).min(mix.len()),
        );
        let mut labels = vec![0.0f32; n_classes];
        for (e, &c) in energy.iter().zip(&class_index) {
            if e.active(a, b, settings.active_dbfs) {
                labels[c] = 1.0;
            }
        }
        out.labels.extend_from_slice(&labels);
        out.start_samples.push(f0 * mel.hop_length);
        k += 1;
    }
    Ok(out)
}

/// A stem's energy, for the labels' rule: prefix sums of squares, so that the mean square of any
/// stretch is one subtraction.
pub struct StemEnergy(Vec<f64>);

impl StemEnergy {
    pub fn new(samples: &[f32]) -> Self {
        let mut acc = Vec::with_capacity(samples.len() + 1);
        acc.push(0.0f64);
        for &v in samples {
            let last = *acc.last().expect("starts with 0");
            acc.push(last + (v as f64) * (v as f64));
        }
        Self(acc)
    }

    /// Whether the stem is active over samples `a..b` (cut at its end): its RMS there reaches
    /// `active_dbfs`.
    pub fn active(&self, a: usize, b: usize, active_dbfs: f32) -> bool {
        let b = b.min(self.0.len() - 1);
        let threshold = 10f64.powf(active_dbfs as f64 / 10.0); // mean square
        b > a && (self.0[b] - self.0[a]) / (b - a) as f64 >= threshold
    }
}

/// Decodes a track, resamples it to the model's rate and cuts it into labelled windows.
pub fn track_windows(
    track: &Track,
    spec: &ModelSpec,
    settings: &WindowSettings,
) -> Result<LabelledWindows, DataError> {
    let (mix, stems) = track.load_audio()?;
    let bad = |reason: String| DataError::Audio {
        path: track.mix_path.clone(),
        reason,
    };
    let mut resampler = ClipResampler::new(mix.sample_rate, spec.mel.sample_rate).map_err(bad)?;
    let mix = resampler.process(&mix).map_err(bad)?;
    let stems = stems
        .iter()
        .map(|s| resampler.process(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let pairs: Vec<(InstrumentClass, &[f32])> = track
        .stems
        .iter()
        .zip(&stems)
        .map(|(meta, audio)| (meta.class, audio.samples.as_slice()))
        .collect();
    label_windows(&mix.samples, &pairs, spec, settings).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use instrunet_model::Provenance;

    fn tone(n: usize, hz: f32, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (std::f32::consts::TAU * hz * i as f32 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn a_stem_silent_in_the_second_half_labels_only_the_first() {
        let spec = ModelSpec::new_default(Provenance::default());
        let n = 16_000 * 10;
        let piano = tone(n, 440.0, 0.3);
        let mut bass = tone(n, 55.0, 0.3);
        bass[n / 2..].fill(0.0);
        let mix: Vec<f32> = piano.iter().zip(&bass).map(|(a, b)| a + b).collect();
        let settings = WindowSettings::default();
        let w = label_windows(
            &mix,
            &[
                (InstrumentClass::Piano, &piano),
                (InstrumentClass::Bass, &bass),
            ],
            &spec,
            &settings,
        )
        .unwrap();
        let (piano_i, bass_i) = (0, 4);
        assert!(w.len() >= 7, "{}", w.len());
        assert_eq!(w.windows.len(), w.len() * spec.mel.window_len());
        let window_samples = spec.mel.window_samples();
        for (k, &start) in w.start_samples.iter().enumerate() {
            let row = &w.labels[k * 14..(k + 1) * 14];
            assert_eq!(row[piano_i], 1.0, "window {k}");
            if start + window_samples <= n / 2 {
                assert_eq!(row[bass_i], 1.0, "window {k} is all in the bass half");
            }
            if start >= n / 2 {
                assert_eq!(row[bass_i], 0.0, "window {k} is all in the silent half");
            }
            assert_eq!(row.iter().sum::<f32>(), row[piano_i] + row[bass_i]);
        }
    }

    #[test]
    fn the_threshold_is_relative_to_full_scale() {
        let spec = ModelSpec::new_default(Provenance::default());
        let n = spec.mel.window_samples();
        // RMS of a sine of amplitude A is A/√2: 1e-3 → −63 dBFS, 1e-2 → −43 dBFS.
        for (amp, present) in [(1e-3f32, false), (1e-2, true)] {
            let quiet = tone(n, 300.0, amp);
            let w = label_windows(
                &quiet,
                &[(InstrumentClass::Strings, &quiet)],
                &spec,
                &WindowSettings::default(),
            )
            .unwrap();
            assert_eq!(w.len(), 1);
            assert_eq!(
                w.labels[5],
                if present { 1.0 } else { 0.0 },
                "amplitude {amp}"
            );
        }
        assert!(
            label_windows(
                &[],
                &[],
                &spec,
                &WindowSettings {
                    stride_frames: 0,
                    active_dbfs: -60.0
                }
            )
            .is_err()
        );
    }
}
