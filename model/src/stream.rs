//! The streaming analysis engine: mono audio in, at any rate and in blocks of any size; per-class
//! probabilities out, once per analysis hop, for the last model window.
//!
//! Audio is resampled to the model's rate (rubato), cut into Mel frames as it arrives (one frame
//! per `hop_length` samples, each from the last `n_fft` samples), and kept in a ring of the last
//! `window_frames` frames; every `hop` frames the ring is laid out as a window and classified.
//! This is what the plugin's worker thread runs and what `instrunet analyze` runs over a file.
//! After [`StreamAnalyzer::new`] it allocates nothing.
//!
//! Bad input cannot poison it: samples are cleaned by [`crate::mel::clean_sample`] before the
//! resampler (non-finite ones count as silence, huge ones are clipped), so NaN, Inf or huge values
//! give finite probabilities and good audio that follows is analysed normally.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};

use crate::classifier::Classifier;
use crate::classifier::PredictError;
use crate::mel::{MelFrontend, clean_sample, ring_to_window};

/// The shortest analysis hop offered (the plugin's parameter, the CLI's `--hop`), seconds.
pub const HOP_SECONDS_MIN: f32 = 0.05;
/// The longest analysis hop offered, seconds.
pub const HOP_SECONDS_MAX: f32 = 1.0;
/// The analysis hop unless the user picks another, seconds.
pub const DEFAULT_HOP_SECONDS: f32 = 0.25;
/// Rows the causal mean keeps: its longest length at the shortest hop.
fn max_smoothing_len() -> usize {
    (crate::Smoothing::MAX_CAUSAL_SECONDS / HOP_SECONDS_MIN).ceil() as usize + 1
}

/// Input frames per resampler call (rubato rounds it to suit the ratio: 1026 at 48 kHz).
const RESAMPLER_CHUNK: usize = 1024;

/// The resampler from `from` Hz to the model's rate `to`, one channel, fixed chunks in and out:
/// the one configuration for streams (the plugin, `instrunet analyze`) and whole clips
/// (training's reader), so that the plugin hears audio filtered exactly as training heard it.
/// (The stream once used `FixedSync::Input`, whose filter differs: at 48 kHz the model's
/// probabilities then differed from training's windows of the same song by 0.21 on average.)
pub fn resampler_to_model_rate(from: u32, to: u32) -> Result<Fft<f32>, String> {
    Fft::<f32>::new(
        from as usize,
        to as usize,
        RESAMPLER_CHUNK,
        1,
        FixedSync::Both,
    )
    .map_err(|e| e.to_string())
}

/// Why an analyser cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    #[error("input sample rate {0} Hz is outside 1 kHz to 768 kHz")]
    SampleRate(u32),
    #[error("cannot resample {from} Hz to {to} Hz: {reason}")]
    Resampler { from: u32, to: u32, reason: String },
}

/// Turns a stream of audio into per-class probabilities.
pub struct StreamAnalyzer {
    classifier: Classifier,
    mel: MelFrontend,
    input_rate: u32,
    resampler: Option<Fft<f32>>,
    /// Input waiting for the resampler (one channel).
    resampler_in: Vec<Vec<f32>>,
    resampler_fill: usize,
    resampler_out: Vec<Vec<f32>>,
    /// Samples at the model's rate not yet consumed by a frame (at most `n_fft + hop`).
    pending: Vec<f32>,
    /// The last `window_frames` Mel frames, time-major, as a ring.
    frames: Vec<f32>,
    next_frame: usize,
    frames_filled: usize,
    frame: Vec<f32>,
    hop_frames: usize,
    frames_since_analysis: usize,
    window: Vec<f32>,
    probabilities: Vec<f32>,
    /// The causal mean's length, seconds (the spec's, or set), and in analyses at this hop.
    smoothing_seconds: f32,
    smoothing_len: usize,
    /// The last analyses' probabilities, a ring of `max_smoothing_len()` rows, and the mean.
    recent: Vec<f32>,
    recent_next: usize,
    recent_filled: usize,
    smoothed: Vec<f32>,
    /// Model-rate samples that have entered frames, for time stamps.
    consumed: u64,
    /// Resampler latency, model-rate samples.
    delay: usize,
    /// Of those, still to drop in this stream.
    delay_left: usize,
}

impl StreamAnalyzer {
    /// An analyser for audio at `input_rate` that classifies every `hop_seconds` (rounded to
    /// whole Mel frames, at least one).
    pub fn new(
        classifier: Classifier,
        input_rate: u32,
        hop_seconds: f32,
    ) -> Result<Self, StreamError> {
        if !(1_000..=768_000).contains(&input_rate) {
            return Err(StreamError::SampleRate(input_rate));
        }
        let spec = classifier.spec().mel.clone();
        let model_rate = spec.sample_rate;
        let resampler = if input_rate == model_rate {
            None
        } else {
            Some(
                resampler_to_model_rate(input_rate, model_rate).map_err(|reason| {
                    StreamError::Resampler {
                        from: input_rate,
                        to: model_rate,
                        reason,
                    }
                })?,
            )
        };
        let (chunk_in, out_max, delay) = resampler.as_ref().map_or((0, 0, 0), |r| {
            (
                r.input_frames_max(),
                r.output_frames_max(),
                r.output_delay(),
            )
        });
        let mut analyzer = Self {
            mel: MelFrontend::new(&spec),
            input_rate,
            resampler,
            resampler_in: vec![vec![0.0; chunk_in]],
            resampler_fill: 0,
            resampler_out: vec![vec![0.0; out_max]],
            pending: Vec::with_capacity(spec.n_fft + spec.hop_length),
            frames: vec![crate::mel::SILENCE_DB; spec.window_frames * spec.n_mels],
            next_frame: 0,
            frames_filled: 0,
            frame: vec![0.0; spec.n_mels],
            hop_frames: 1,
            frames_since_analysis: 0,
            window: vec![0.0; spec.window_len()],
            probabilities: vec![0.0; classifier.n_classes()],
            smoothing_seconds: classifier.spec().smoothing.causal_seconds,
            smoothing_len: 1,
            recent: vec![0.0; max_smoothing_len() * classifier.n_classes()],
            recent_next: 0,
            recent_filled: 0,
            smoothed: vec![0.0; classifier.n_classes()],
            consumed: 0,
            delay,
            delay_left: delay,
            classifier,
        };
        analyzer.set_hop_seconds(hop_seconds);
        Ok(analyzer)
    }

    /// Changes the analysis hop (takes effect from the next frame).
    pub fn set_hop_seconds(&mut self, hop_seconds: f32) {
        let mel = self.mel.settings();
        let frames = hop_seconds.max(0.0) as f64 * mel.sample_rate as f64 / mel.hop_length as f64;
        self.hop_frames = (frames.round() as usize).max(1);
        self.update_smoothing_len();
    }

    /// Changes the causal mean's length (seconds, clamped to the spec's range; 0: none). It
    /// starts as the weights file says ([`crate::Smoothing`]).
    pub fn set_smoothing_seconds(&mut self, seconds: f32) {
        self.smoothing_seconds = if seconds.is_finite() {
            seconds.clamp(0.0, crate::Smoothing::MAX_CAUSAL_SECONDS)
        } else {
            0.0
        };
        self.update_smoothing_len();
    }

    /// The causal mean's length, in analyses at the current hop (1: none).
    pub fn smoothing_len(&self) -> usize {
        self.smoothing_len
    }

    fn update_smoothing_len(&mut self) {
        let analyses = (self.smoothing_seconds as f64 / self.hop_seconds()).round() as usize;
        self.smoothing_len = analyses.clamp(1, max_smoothing_len());
    }

    /// The hop actually used, seconds.
    pub fn hop_seconds(&self) -> f64 {
        let mel = &self.classifier.spec().mel;
        self.hop_frames as f64 * mel.hop_length as f64 / mel.sample_rate as f64
    }

    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The model, for another stream.
    pub fn into_classifier(self) -> Classifier {
        self.classifier
    }

    /// Forgets all audio (for a transport jump or a reset), keeping the model.
    pub fn reset(&mut self) {
        self.resampler_fill = 0;
        if let Some(r) = &mut self.resampler {
            r.reset();
        }
        self.pending.clear();
        self.frames.fill(crate::mel::SILENCE_DB);
        self.next_frame = 0;
        self.frames_filled = 0;
        self.frames_since_analysis = 0;
        self.consumed = 0;
        self.delay_left = self.delay;
        self.recent_next = 0;
        self.recent_filled = 0;
    }

    /// Feeds samples; calls `on_analysis(end_seconds, probabilities)` for every window analysed,
    /// `end_seconds` being the input time of the window's last sample.
    pub fn push(
        &mut self,
        samples: &[f32],
        on_analysis: &mut dyn FnMut(f64, &[f32]),
    ) -> Result<(), PredictError> {
        for &s in samples {
            let s = clean_sample(s);
            if self.resampler.is_none() {
                self.push_model_rate(s, on_analysis)?;
                continue;
            }
            self.resampler_in[0][self.resampler_fill] = s;
            self.resampler_fill += 1;
            if self.resampler_fill == self.resampler_in[0].len() {
                self.resampler_fill = 0;
                let produced = {
                    let resampler = self.resampler.as_mut().expect("checked above");
                    let n_in = self.resampler_in[0].len();
                    let n_out = self.resampler_out[0].len();
                    let input = SequentialSliceOfVecs::new(&self.resampler_in, 1, n_in)
                        .expect("buffer sized in new()");
                    let mut output =
                        SequentialSliceOfVecs::new_mut(&mut self.resampler_out, 1, n_out)
                            .expect("buffer sized in new()");
                    resampler
                        .process_into_buffer(&input, &mut output, None)
                        .map(|(_, out)| out)
                        .unwrap_or(0)
                };
                for i in 0..produced {
                    // The resampler's first `delay` outputs come before the input's first
                    // sample: dropped, so that frames fall on the grid a whole clip's frames do
                    // (training's windows), and times need no correction.
                    if self.delay_left > 0 {
                        self.delay_left -= 1;
                        continue;
                    }
                    let v = self.resampler_out[0][i];
                    self.push_model_rate(v, on_analysis)?;
                }
            }
        }
        Ok(())
    }

    /// Records the newest analysis and returns the mean of the last `smoothing_len` (fewer at
    /// the start of a stream), or the analysis itself when there is no smoothing.
    fn causal_mean(&mut self) -> &[f32] {
        let c = self.probabilities.len();
        let rows = self.recent.len() / c;
        self.recent[self.recent_next * c..(self.recent_next + 1) * c]
            .copy_from_slice(&self.probabilities);
        self.recent_next = (self.recent_next + 1) % rows;
        self.recent_filled = (self.recent_filled + 1).min(rows);
        let n = self.smoothing_len.min(self.recent_filled);
        if n <= 1 {
            return &self.probabilities;
        }
        self.smoothed.fill(0.0);
        for back in 1..=n {
            let row = (self.recent_next + rows - back) % rows;
            for (m, &p) in self
                .smoothed
                .iter_mut()
                .zip(&self.recent[row * c..(row + 1) * c])
            {
                *m += p;
            }
        }
        self.smoothed.iter_mut().for_each(|m| *m /= n as f32);
        &self.smoothed
    }

    fn push_model_rate(
        &mut self,
        sample: f32,
        on_analysis: &mut dyn FnMut(f64, &[f32]),
    ) -> Result<(), PredictError> {
        // Plain numbers copied out per sample (cloning the settings here ran once per sample).
        let s = self.mel.settings();
        let (n_fft, hop, n_mels, t_frames, rate) = (
            s.n_fft,
            s.hop_length,
            s.n_mels,
            s.window_frames,
            s.sample_rate,
        );
        self.pending.push(sample);
        if self.pending.len() < n_fft {
            return Ok(());
        }
        self.mel
            .process_frame(&self.pending[..n_fft], &mut self.frame)?;
        self.pending.drain(..hop);
        self.consumed += hop as u64;
        let at = self.next_frame * n_mels;
        self.frames[at..at + n_mels].copy_from_slice(&self.frame);
        self.next_frame = (self.next_frame + 1) % t_frames;
        self.frames_filled = (self.frames_filled + 1).min(t_frames);
        self.frames_since_analysis += 1;
        if self.frames_filled == t_frames && self.frames_since_analysis >= self.hop_frames {
            self.frames_since_analysis = 0;
            // The ring's oldest frame is the next one to be overwritten.
            ring_to_window(&self.frames, n_mels, self.next_frame, &mut self.window)?;
            self.classifier
                .predict(&self.window, &mut self.probabilities)?;
            let end_samples = self.consumed + (n_fft - hop) as u64;
            let reported = self.causal_mean();
            on_analysis(end_samples as f64 / rate as f64, reported);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, seconds: f32, hz: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.5 * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Every (time, probabilities) the analyser reports for `audio` fed in blocks of `block`.
    fn run(rate: u32, audio: &[f32], block: usize) -> Vec<(f64, Vec<f32>)> {
        let mut a = StreamAnalyzer::new(Classifier::embedded_default(), rate, 0.25).unwrap();
        let mut out = Vec::new();
        for chunk in audio.chunks(block.max(1)) {
            a.push(chunk, &mut |t, p| out.push((t, p.to_vec())))
                .unwrap();
        }
        out
    }

    #[test]
    fn block_size_does_not_change_the_results() {
        let audio = tone(16_000, 4.0, 440.0);
        let a = run(16_000, &audio, 512);
        let b = run(16_000, &audio, 1);
        let c = run(16_000, &audio, 4099);
        assert!(a.len() >= 7, "{} analyses", a.len());
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn the_causal_mean_averages_the_last_analyses_and_starts_afresh_after_a_reset() {
        // A sweep, so that consecutive analyses differ.
        let rate = 16_000;
        let audio: Vec<f32> = (0..rate * 6)
            .map(|i| {
                let t = i as f32 / rate as f32;
                0.4 * (std::f32::consts::TAU * (200.0 + 300.0 * t) * t).sin()
            })
            .collect();
        let raw = run(rate, &audio, 512);
        let mut a = StreamAnalyzer::new(Classifier::embedded_default(), rate, 0.25).unwrap();
        assert_eq!(a.smoothing_len(), 1, "the embedded model asks for none");
        a.set_smoothing_seconds(1.0);
        assert_eq!(a.smoothing_len(), 4);
        let mut smoothed = Vec::new();
        for _ in 0..2 {
            a.reset();
            let mut once = Vec::new();
            for chunk in audio.chunks(512) {
                a.push(chunk, &mut |t, p| once.push((t, p.to_vec())))
                    .unwrap();
            }
            smoothed.push(once);
        }
        assert_eq!(
            smoothed[0], smoothed[1],
            "a reset forgets the past analyses"
        );
        assert_eq!(smoothed[0].len(), raw.len());
        for (i, (t, p)) in smoothed[0].iter().enumerate() {
            assert_eq!(*t, raw[i].0);
            let from = i.saturating_sub(3);
            for (k, v) in p.iter().enumerate() {
                let mean =
                    raw[from..=i].iter().map(|r| r.1[k]).sum::<f32>() / (i + 1 - from) as f32;
                assert!(
                    (v - mean).abs() < 1e-6,
                    "analysis {i}, class {k}: {v} vs {mean}"
                );
            }
        }
        assert!(
            raw.iter()
                .zip(&smoothed[0])
                .skip(1)
                .any(|(r, s)| r.1 != s.1),
            "smoothing changed nothing"
        );
        a.set_smoothing_seconds(0.0);
        assert_eq!(a.smoothing_len(), 1);
    }

    #[test]
    fn the_first_window_matches_the_offline_front_end() {
        let audio = tone(16_000, 3.0, 440.0);
        let mut classifier = Classifier::embedded_default();
        let spec = classifier.spec().clone();
        let mut mel = MelFrontend::new(&spec.mel);
        let frames = mel.spectrogram(&audio[..spec.mel.window_samples()]);
        let window = crate::mel::frames_to_window_vec(&frames, spec.mel.n_mels);
        let mut expected = vec![0.0; spec.n_classes()];
        classifier.predict(&window, &mut expected).unwrap();
        let got = run(16_000, &audio, 333);
        assert_eq!(got[0].1, expected);
        assert!((got[0].0 - spec.mel.window_samples() as f64 / 16_000.0).abs() < 1e-9);
    }

    #[test]
    fn any_rate_gives_one_analysis_per_hop_in_time() {
        for rate in [8_000u32, 22_050, 44_100, 48_000, 96_000, 192_000] {
            let audio = tone(rate, 5.0, 440.0);
            let got = run(rate, &audio, 777);
            // 5 s of audio, first window after ~2.06 s (plus the resampler's latency), then
            // one per 0.256 s.
            assert!(
                (9..=13).contains(&got.len()),
                "{rate} Hz: {} analyses",
                got.len()
            );
            for w in got.windows(2) {
                assert!(
                    (w[1].0 - w[0].0 - 0.256).abs() < 1e-3,
                    "{rate} Hz: {:?}",
                    (w[0].0, w[1].0)
                );
            }
            assert!(
                got.iter()
                    .all(|(_, p)| p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)))
            );
        }
    }

    #[test]
    fn bad_samples_give_finite_probabilities_and_the_engine_recovers() {
        let mut a = StreamAnalyzer::new(Classifier::embedded_default(), 44_100, 0.05).unwrap();
        let mut seen = Vec::new();
        let bad: Vec<f32> = (0..44_100 * 4)
            .map(|i| match i % 4 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => 1e-40,
                _ => 1e30,
            })
            .collect();
        a.push(&bad, &mut |_, p| seen.push(p.to_vec())).unwrap();
        let n_bad = seen.len();
        assert!(n_bad > 0);
        a.push(&tone(44_100, 3.0, 440.0), &mut |_, p| seen.push(p.to_vec()))
            .unwrap();
        assert!(seen.len() > n_bad);
        assert!(
            seen.iter()
                .flatten()
                .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
        );
        // After the good audio fills a whole window, the result is as if the bad audio had been
        // silence: a stream fed as much silence first analyses on the same grid (a stream of the
        // tone alone would analyse a frame off, and a network may hear a pure tone's frame-to-frame
        // ripple), and must agree with it.
        let mut fresh = StreamAnalyzer::new(Classifier::embedded_default(), 44_100, 0.05).unwrap();
        let mut clean = Vec::new();
        let mut silence_then_tone = vec![0.0f32; bad.len()];
        silence_then_tone.extend(tone(44_100, 3.0, 440.0));
        fresh
            .push(&silence_then_tone, &mut |_, p| clean.push(p.to_vec()))
            .unwrap();
        assert_eq!(
            clean.len(),
            seen.len(),
            "the two streams analyse on one grid"
        );
        let last = seen.last().unwrap();
        let diff = last
            .iter()
            .zip(clean.last().unwrap())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        for k in 1..6 {
            let a = &seen[seen.len() - k];
            let b = &clean[clean.len() - k];
            eprintln!(
                "k{k} seen {:?}\n   clean {:?}",
                a.iter()
                    .map(|v| (v * 1000.0).round() / 1000.0)
                    .collect::<Vec<_>>(),
                b.iter()
                    .map(|v| (v * 1000.0).round() / 1000.0)
                    .collect::<Vec<_>>()
            );
        }
        assert!(diff < 1e-2, "{diff}");
    }

    #[test]
    fn rejects_impossible_rates() {
        assert!(StreamAnalyzer::new(Classifier::embedded_default(), 0, 0.25).is_err());
        assert!(StreamAnalyzer::new(Classifier::embedded_default(), 10_000_000, 0.25).is_err());
    }
}
