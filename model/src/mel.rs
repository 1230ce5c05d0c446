//! The log-Mel front end: periodic Hann window → real FFT → power spectrum → Slaney Mel
//! filterbank (Slaney area normalisation) → `10·log10(max(P, 1e-10))`.
//!
//! It matches `librosa.feature.melspectrogram(center=False, window="hann", power=2.0, htk=False,
//! norm="slaney")` followed by `librosa.power_to_db(ref=1.0, amin=1e-10, top_db=None)`. Frames are
//! not centred: frame `k` covers samples `k·hop .. k·hop + n_fft`, so a live stream cut into frames
//! as it arrives and a whole file give the same numbers.
//!
//! [`MelFrontend::new`] plans the FFT and builds the filterbank and all scratch space;
//! [`MelFrontend::process_frame`] allocates nothing. The arithmetic runs in f64 (it costs a few
//! microseconds per frame) so that quiet bins far below the loudest keep their precision.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::error::InputError;
use crate::spec::MelSettings;

/// Power floor before the logarithm (librosa `amin`).
pub const POWER_FLOOR: f64 = 1e-10;
/// The dB value of silence: `10·log10(POWER_FLOOR)`.
pub const SILENCE_DB: f32 = -100.0;
/// Largest sample magnitude passed on (full scale is 1.0): +24 dBFS.
pub const MAX_SAMPLE: f32 = 16.0;

/// The one rule for bad audio: a non-finite sample is silence, a huge one is clipped to
/// ±[`MAX_SAMPLE`], so that NaN, Inf or garbage cannot poison the analysis of what follows.
#[inline]
pub fn clean_sample(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(-MAX_SAMPLE, MAX_SAMPLE)
    } else {
        0.0
    }
}

/// The one rule for bad log-Mel values handed to a network: a non-finite value is silence.
#[inline]
pub fn clean_db(x: f32) -> f32 {
    if x.is_finite() { x } else { SILENCE_DB }
}

/// Slaney scale: linear at 200/3 Hz per Mel below 1 kHz, logarithmic (27 steps per factor 6.4)
/// above (librosa `htk=False`).
const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
const SLANEY_MIN_LOG_MEL: f64 = SLANEY_MIN_LOG_HZ / SLANEY_HZ_PER_MEL;

fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz → Mel on the Slaney scale (librosa `hz_to_mel(htk=False)`).
pub fn hz_to_mel_slaney(hz: f64) -> f64 {
    if hz >= SLANEY_MIN_LOG_HZ {
        SLANEY_MIN_LOG_MEL + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_log_step()
    } else {
        hz / SLANEY_HZ_PER_MEL
    }
}

/// Mel → Hz on the Slaney scale (librosa `mel_to_hz(htk=False)`).
pub fn mel_to_hz_slaney(mel: f64) -> f64 {
    if mel >= SLANEY_MIN_LOG_MEL {
        SLANEY_MIN_LOG_HZ * (slaney_log_step() * (mel - SLANEY_MIN_LOG_MEL)).exp()
    } else {
        SLANEY_HZ_PER_MEL * mel
    }
}

/// A Mel filterbank stored sparsely: each band is a run of consecutive FFT bins.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    /// First FFT bin of each band.
    starts: Vec<usize>,
    /// Offset of each band's weights in `weights` (one extra entry at the end).
    offsets: Vec<usize>,
    /// All bands' weights, band after band.
    weights: Vec<f64>,
    n_bins: usize,
}

impl MelFilterbank {
    /// Triangular filters evenly spaced on the Slaney Mel scale from `fmin` to `fmax`, each scaled
    /// to unit area (`2 / (f_upper − f_lower)`), as `librosa.filters.mel(htk=False, norm="slaney")`.
    pub fn slaney(settings: &MelSettings) -> Self {
        let n_bins = settings.n_fft / 2 + 1;
        let n_mels = settings.n_mels;
        let sr = settings.sample_rate as f64;
        let fft_freqs: Vec<f64> = (0..n_bins)
            .map(|k| k as f64 * sr / settings.n_fft as f64)
            .collect();
        let edges = Self::slaney_edges_hz(settings);

        let mut starts = Vec::with_capacity(n_mels);
        let mut offsets = Vec::with_capacity(n_mels + 1);
        let mut weights = Vec::new();
        offsets.push(0);
        for m in 0..n_mels {
            let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let area_norm = 2.0 / (hi - lo);
            let row: Vec<f64> = fft_freqs
                .iter()
                .map(|&f| {
                    let rising = (f - lo) / (mid - lo);
                    let falling = (hi - f) / (hi - mid);
                    rising.min(falling).max(0.0) * area_norm
                })
                .collect();
            let first = row.iter().position(|&w| w > 0.0);
            let last = row.iter().rposition(|&w| w > 0.0);
            match (first, last) {
                (Some(a), Some(b)) => {
                    starts.push(a);
                    weights.extend_from_slice(&row[a..=b]);
                }
                // An empty band (too narrow for the FFT's resolution) stays all-zero, as in librosa.
                _ => starts.push(0),
            }
            offsets.push(weights.len());
        }
        Self {
            starts,
            offsets,
            weights,
            n_bins,
        }
    }

    /// The `n_mels + 2` filter edge frequencies, Hz, evenly spaced in Slaney Mel from `fmin` to
    /// `fmax` (numpy linspace): band `m` rises from edge `m`, peaks at `m + 1`, falls to `m + 2`.
    pub fn slaney_edges_hz(settings: &MelSettings) -> Vec<f64> {
        let n_mels = settings.n_mels;
        let mel_lo = hz_to_mel_slaney(settings.fmin as f64);
        let mel_hi = hz_to_mel_slaney(settings.fmax as f64);
        (0..n_mels + 2)
            .map(|i| mel_to_hz_slaney(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_mels + 1) as f64))
            .collect()
    }

    /// Number of Mel bands.
    pub fn n_mels(&self) -> usize {
        self.starts.len()
    }

    /// The dense weight of FFT bin `bin` in band `band` (for tests and plots).
    pub fn weight(&self, band: usize, bin: usize) -> f64 {
        let (start, lo, hi) = (
            self.starts[band],
            self.offsets[band],
            self.offsets[band + 1],
        );
        if bin >= start && bin - start < hi - lo {
            self.weights[lo + bin - start]
        } else {
            0.0
        }
    }

    /// Applies the filterbank to a power spectrum of `n_bins` values.
    fn apply(&self, power: &[f64], out: &mut [f64]) {
        debug_assert_eq!(power.len(), self.n_bins);
        for (m, o) in out.iter_mut().enumerate() {
            let (lo, hi) = (self.offsets[m], self.offsets[m + 1]);
            let bins = &power[self.starts[m]..self.starts[m] + (hi - lo)];
            *o = bins
                .iter()
                .zip(&self.weights[lo..hi])
                .map(|(p, w)| p * w)
                .sum();
        }
    }
}

/// Computes log-Mel frames, one `n_fft`-sample frame at a time.
pub struct MelFrontend {
    settings: MelSettings,
    fft: Arc<dyn RealToComplex<f64>>,
    /// Periodic Hann window of `n_fft` samples.
    window: Vec<f64>,
    filterbank: MelFilterbank,
    // Scratch space, sized in `new()`.
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    fft_scratch: Vec<Complex<f64>>,
    power: Vec<f64>,
    mel: Vec<f64>,
}

impl MelFrontend {
    /// Plans the FFT and builds the window, the filterbank and all scratch buffers.
    pub fn new(settings: &MelSettings) -> Self {
        let n = settings.n_fft;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        // Periodic Hann (scipy `get_window("hann", n, fftbins=True)`).
        let window = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
            .collect();
        let filterbank = MelFilterbank::slaney(settings);
        Self {
            settings: settings.clone(),
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            power: vec![0.0; n / 2 + 1],
            mel: vec![0.0; settings.n_mels],
            fft,
            window,
            filterbank,
        }
    }

    /// The settings this front end was built with.
    pub fn settings(&self) -> &MelSettings {
        &self.settings
    }

    /// The filterbank in use.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.filterbank
    }

    /// Number of whole frames in a signal of `n_samples` samples (0 if shorter than one frame).
    pub fn frame_count(&self, n_samples: usize) -> usize {
        if n_samples < self.settings.n_fft {
            0
        } else {
            (n_samples - self.settings.n_fft) / self.settings.hop_length + 1
        }
    }

    /// Computes one frame of `n_mels` log-Mel values (dB) from exactly `n_fft` samples.
    /// Allocates nothing. Non-finite input samples are treated as silence, so one bad sample
    /// cannot poison the output.
    pub fn process_frame(&mut self, samples: &[f32], out: &mut [f32]) -> Result<(), InputError> {
        let n = self.settings.n_fft;
        if samples.len() != n {
            return Err(InputError::WrongLength {
                what: "Mel input frame",
                expected: n,
                got: samples.len(),
            });
        }
        if out.len() != self.settings.n_mels {
            return Err(InputError::WrongLength {
                what: "Mel output frame",
                expected: self.settings.n_mels,
                got: out.len(),
            });
        }
        for ((f, &s), &w) in self.frame.iter_mut().zip(samples).zip(&self.window) {
            *f = clean_sample(s) as f64 * w;
        }
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.fft_scratch)
            .expect("buffer lengths come from the plan");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        self.filterbank.apply(&self.power, &mut self.mel);
        for (o, &m) in out.iter_mut().zip(&self.mel) {
            *o = (10.0 * m.max(POWER_FLOOR).log10()) as f32;
        }
        Ok(())
    }

    /// Computes every whole frame of a signal. Returns `frame_count × n_mels` values, time-major
    /// (frame after frame). Allocates the result; meant for offline use and tests.
    pub fn spectrogram(&mut self, signal: &[f32]) -> Vec<f32> {
        let (n_fft, hop, n_mels) = (
            self.settings.n_fft,
            self.settings.hop_length,
            self.settings.n_mels,
        );
        let frames = self.frame_count(signal.len());
        let mut out = vec![0.0; frames * n_mels];
        for (k, o) in out.chunks_exact_mut(n_mels).enumerate() {
            self.process_frame(&signal[k * hop..k * hop + n_fft], o)
                .expect("lengths are exact");
        }
        out
    }
}

/// Reorders `n_frames` time-major Mel frames (frame after frame) into the network's mel-major
/// layout (`[n_mels][n_frames]`: one row per band, time along the row).
pub fn frames_to_window(
    frames: &[f32],
    n_mels: usize,
    window: &mut [f32],
) -> Result<(), InputError> {
    ring_to_window(frames, n_mels, 0, window)
}

/// How many frames of `n_mels` values a window holds, checking that `frames` are whole frames and
/// `window` holds exactly them (the layout functions below all take both).
fn frames_in_window(frames: &[f32], n_mels: usize, window: &[f32]) -> Result<usize, InputError> {
    if n_mels == 0 || !frames.len().is_multiple_of(n_mels) {
        return Err(InputError::WrongLength {
            what: "Mel frames",
            expected: n_mels,
            got: frames.len(),
        });
    }
    if window.len() != frames.len() {
        return Err(InputError::WrongLength {
            what: "window",
            expected: frames.len(),
            got: window.len(),
        });
    }
    Ok(frames.len() / n_mels)
}

/// The inverse of [`frames_to_window`]: a mel-major window back into its time-major frames (the
/// training cache stores frames, which overlapping windows share).
pub fn window_to_frames(
    window: &[f32],
    n_mels: usize,
    frames: &mut [f32],
) -> Result<(), InputError> {
    let n_frames = frames_in_window(frames, n_mels, window)?;
    for (t, frame) in frames.chunks_exact_mut(n_mels).enumerate() {
        for (m, v) in frame.iter_mut().enumerate() {
            *v = window[m * n_frames + t];
        }
    }
    Ok(())
}

/// [`frames_to_window`] for a ring of frames whose oldest is frame `oldest`: the window starts
/// there and wraps around. With [`window_to_frames`], its inverse, the only code that knows the
/// window layout (the stream keeps its frames in such a ring).
pub fn ring_to_window(
    frames: &[f32],
    n_mels: usize,
    oldest: usize,
    window: &mut [f32],
) -> Result<(), InputError> {
    let n_frames = frames_in_window(frames, n_mels, window)?;
    for (k, frame) in frames.chunks_exact(n_mels).enumerate() {
        // Frame k of the ring is the window's column t.
        let t = (k + n_frames - oldest % n_frames) % n_frames;
        for (m, &v) in frame.iter().enumerate() {
            window[m * n_frames + t] = v;
        }
    }
    Ok(())
}

/// [`frames_to_window`] into a new vector.
pub fn frames_to_window_vec(frames: &[f32], n_mels: usize) -> Vec<f32> {
    let mut window = vec![0.0; frames.len()];
    frames_to_window(frames, n_mels, &mut window).expect("a whole number of frames");
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_frontend() -> MelFrontend {
        MelFrontend::new(&MelSettings::default())
    }

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz_slaney(hz_to_mel_slaney(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel_slaney(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel_slaney(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn filters_have_unit_area_and_cover_fmin_to_fmax() {
        let s = MelSettings::default();
        let fb = MelFilterbank::slaney(&s);
        assert_eq!(fb.n_mels(), 128);
        let bin_hz = s.sample_rate as f64 / s.n_fft as f64;
        // Area normalisation: each triangle's continuous area is 1, so the sampled sum times the
        // bin width is close to 1 for bands wide enough to be sampled well.
        for m in 20..128 {
            let area: f64 = (0..=s.n_fft / 2).map(|k| fb.weight(m, k)).sum::<f64>() * bin_hz;
            assert!((area - 1.0).abs() < 0.08, "band {m} area {area}");
        }
        // No weight outside fmin..fmax, and the top band reaches near fmax.
        assert_eq!(fb.weight(127, s.n_fft / 2), 0.0);
        assert!(fb.weight(127, s.n_fft / 2 - 3) > 0.0);
    }

    #[test]
    fn settings_change_the_filterbank() {
        let mut s = MelSettings {
            n_mels: 64,
            fmin: 50.0,
            fmax: 4000.0,
            ..MelSettings::default()
        };
        let fb = MelFilterbank::slaney(&s);
        assert_eq!(fb.n_mels(), 64);
        let bin_hz = s.sample_rate as f64 / s.n_fft as f64;
        let top_bin = (4000.0 / bin_hz).ceil() as usize;
        assert!((top_bin..=s.n_fft / 2).all(|k| fb.weight(63, k) == 0.0));
        assert!((0..=(50.0 / bin_hz) as usize).all(|k| fb.weight(0, k) == 0.0));
        s.n_fft = 2048;
        assert_eq!(MelFrontend::new(&s).frame_count(2048 + 3 * 256), 4);
    }

    #[test]
    fn frame_count_is_uncentred() {
        let fe = default_frontend();
        assert_eq!(fe.frame_count(1023), 0);
        assert_eq!(fe.frame_count(1024), 1);
        assert_eq!(fe.frame_count(1024 + 255), 1);
        assert_eq!(fe.frame_count(1024 + 256), 2);
        assert_eq!(fe.frame_count(MelSettings::default().window_samples()), 128);
    }

    #[test]
    fn silence_is_the_floor_and_bad_samples_are_silence() {
        let mut fe = default_frontend();
        let mut out = vec![0.0; 128];
        fe.process_frame(&[0.0; 1024], &mut out).unwrap();
        assert!(out.iter().all(|&v| v == SILENCE_DB));
        let mut bad = vec![0.0f32; 1024];
        bad[10] = f32::NAN;
        bad[20] = f32::INFINITY;
        fe.process_frame(&bad, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == SILENCE_DB));
    }

    #[test]
    fn a_sine_peaks_in_the_band_holding_its_frequency() {
        let s = MelSettings::default();
        let mut fe = MelFrontend::new(&s);
        let hz = 2000.0f32;
        let x: Vec<f32> = (0..1024)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / 16000.0).sin())
            .collect();
        let mut out = vec![0.0; 128];
        fe.process_frame(&x, &mut out).unwrap();
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        let fb = fe.filterbank();
        let bin = (hz * 1024.0 / 16000.0) as usize;
        let best = (0..128)
            .max_by(|&a, &b| fb.weight(a, bin).total_cmp(&fb.weight(b, bin)))
            .unwrap();
        assert!(
            peak.abs_diff(best) <= 1,
            "peak band {peak}, filter band {best}"
        );
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut fe = default_frontend();
        let mut out = vec![0.0; 128];
        assert_eq!(
            fe.process_frame(&[0.0; 1000], &mut out),
            Err(InputError::WrongLength {
                what: "Mel input frame",
                expected: 1024,
                got: 1000
            })
        );
        assert!(fe.process_frame(&[0.0; 1024], &mut out[..5]).is_err());
    }

    #[test]
    fn streamed_frames_equal_whole_signal_frames() {
        let mut fe = default_frontend();
        let x: Vec<f32> = (0..5000)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let whole = fe.spectrogram(&x);
        let mut one = vec![0.0; 128];
        for k in 0..fe.frame_count(x.len()) {
            fe.process_frame(&x[k * 256..k * 256 + 1024], &mut one)
                .unwrap();
            assert_eq!(&whole[k * 128..(k + 1) * 128], &one[..]);
        }
    }

    #[test]
    fn frames_to_window_transposes() {
        let frames = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 frames of 2 bands
        let mut w = [0.0; 6];
        frames_to_window(&frames, 2, &mut w).unwrap();
        assert_eq!(w, [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert!(frames_to_window(&frames, 4, &mut w).is_err());
        // The same frames as a ring whose oldest is frame 1: frames 1, 2, 0.
        ring_to_window(&frames, 2, 1, &mut w).unwrap();
        assert_eq!(w, [3.0, 5.0, 1.0, 4.0, 6.0, 2.0]);
    }

    #[test]
    fn window_to_frames_undoes_frames_to_window() {
        let frames = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 frames of 2 bands
        let mut w = [0.0; 6];
        frames_to_window(&frames, 2, &mut w).unwrap();
        let mut back = [0.0; 6];
        window_to_frames(&w, 2, &mut back).unwrap();
        assert_eq!(back, frames);
        assert!(window_to_frames(&w, 4, &mut back).is_err());
        assert!(window_to_frames(&w, 2, &mut [0.0; 4]).is_err());
    }
}
