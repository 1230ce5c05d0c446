//! Resampling whole clips to the model's rate with rubato's FFT resampler (fixed ratio, the right
//! tool for offline files; Slakh2100 is 44.1 kHz, the model listens at 16 kHz).

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, Resampler};

use crate::data::audio::MonoAudio;

/// Resamples clips from one rate to another; reuse it for every clip at the same rates.
pub struct ClipResampler {
    from: u32,
    to: u32,
    inner: Option<Fft<f32>>,
}

impl ClipResampler {
    /// A resampler from `from` Hz to `to` Hz (a pass-through when they are equal).
    pub fn new(from: u32, to: u32) -> Result<Self, String> {
        let inner = if from == to {
            None
        } else {
            Some(instrunet_model::resampler_to_model_rate(from, to)?)
        };
        Ok(Self { from, to, inner })
    }

    /// The clip at the target rate, aligned with the input (rubato trims its delay).
    pub fn process(&mut self, clip: &MonoAudio) -> Result<MonoAudio, String> {
        if clip.sample_rate != self.from {
            return Err(format!(
                "clip is at {} Hz, resampler expects {} Hz",
                clip.sample_rate, self.from
            ));
        }
        let Some(inner) = &mut self.inner else {
            return Ok(clip.clone());
        };
        let frames = clip.samples.len();
        let channels = [clip.samples.clone()];
        let input = SequentialSliceOfVecs::new(&channels, 1, frames).map_err(|e| e.to_string())?;
        let out = inner
            .process_all(&input, frames, None)
            .map_err(|e| e.to_string())?;
        Ok(MonoAudio {
            samples: out.take_data(),
            sample_rate: self.to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_keeps_its_frequency_and_length() {
        let (from, to, hz) = (44_100u32, 16_000u32, 440.0f32);
        let n = from as usize;
        let clip = MonoAudio {
            samples: (0..n)
                .map(|i| (std::f32::consts::TAU * hz * i as f32 / from as f32).sin())
                .collect(),
            sample_rate: from,
        };
        let out = ClipResampler::new(from, to)
            .unwrap()
            .process(&clip)
            .unwrap();
        assert_eq!(out.sample_rate, to);
        assert!(
            (out.samples.len() as i64 - to as i64).abs() <= 1,
            "{}",
            out.samples.len()
        );
        // Away from the edges the output is the same sine at the new rate, aligned to within a
        // fraction of a sample (0.05 ≈ a fifth of a sample's phase at 440 Hz and 16 kHz).
        let err = (2000..14_000)
            .map(|i| {
                (out.samples[i] - (std::f32::consts::TAU * hz * i as f32 / to as f32).sin()).abs()
            })
            .fold(0.0f32, f32::max);
        assert!(err < 0.05, "max error {err}");
    }

    #[test]
    fn equal_rates_pass_through() {
        let clip = MonoAudio {
            samples: vec![0.5; 100],
            sample_rate: 16_000,
        };
        assert_eq!(
            ClipResampler::new(16_000, 16_000)
                .unwrap()
                .process(&clip)
                .unwrap(),
            clip
        );
        assert!(
            ClipResampler::new(16_000, 8_000)
                .unwrap()
                .process(&clip)
                .is_ok()
        );
        assert!(
            ClipResampler::new(44_100, 16_000)
                .unwrap()
                .process(&clip)
                .is_err()
        );
    }
}
