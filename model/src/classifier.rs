//! The inference API: a classifier built from a weights file (or the embedded default) that turns
//! windows of log-Mel frames into per-class probabilities.
//!
//! On the CPU it runs [`crate::cpu::CpuNet`] (BatchNorm folded, im2col + gemm), allocating nothing
//! per window; on a CUDA or Metal device it runs the candle network.

use std::path::Path;

use candle_core::Device;

use crate::cpu::{CpuNet, CpuScratch};
use crate::error::{InputError, WeightsError};
use crate::mel::clean_db;
use crate::net::{InstruNet, windows_to_tensor};
use crate::spec::ModelSpec;
use crate::weights::Weights;

/// The default weights compiled into every build (`model/weights/instrunet-default.safetensors`).
/// Replacing that file changes the default with no code change.
pub const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../weights/instrunet-default.safetensors");

/// Why a prediction failed.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("inference failed on the device: {0}")]
    Device(#[from] candle_core::Error),
}

enum Backend {
    Cpu {
        net: Box<CpuNet>,
        scratch: Vec<CpuScratch>,
    },
    Candle {
        net: InstruNet,
        device: Device,
        /// The cleaned input, kept between calls.
        clean: Vec<f32>,
    },
}

/// Turns log-Mel windows into per-class probabilities.
pub struct Classifier {
    spec: ModelSpec,
    backend: Backend,
    threads: usize,
}

impl Classifier {
    /// A classifier for validated weights on `device` (the CPU takes the fast path).
    pub fn new(weights: &Weights, device: &Device) -> Result<Self, WeightsError> {
        Self::build(weights, device, !device.is_cpu())
    }

    /// A classifier that runs the candle network on `device`, the CPU included: the reference
    /// the fast CPU path is checked against.
    pub fn new_candle(weights: &Weights, device: &Device) -> Result<Self, WeightsError> {
        Self::build(weights, device, true)
    }

    fn build(weights: &Weights, device: &Device, candle: bool) -> Result<Self, WeightsError> {
        let backend = if !candle {
            let net = Box::new(CpuNet::new(weights));
            let scratch = vec![net.scratch()];
            Backend::Cpu { net, scratch }
        } else {
            let vb = weights.tensors.var_builder(device)?;
            Backend::Candle {
                net: InstruNet::new(&weights.spec, 0.0, vb)?,
                device: device.clone(),
                clean: Vec::new(),
            }
        };
        Ok(Self {
            spec: weights.spec.clone(),
            backend,
            threads: 1,
        })
    }

    /// A CPU classifier from the bytes of a weights file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        Self::new(&Weights::from_bytes(bytes)?, &Device::Cpu)
    }

    /// A CPU classifier from a weights file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        Self::new(&Weights::from_file(path)?, &Device::Cpu)
    }

    /// The embedded default model on the CPU.
    pub fn embedded_default() -> Self {
        Self::from_bytes(DEFAULT_WEIGHTS)
            .expect("the embedded default weights are checked by tests")
    }

    /// Loads `path`, or falls back to the embedded default and returns why.
    pub fn from_file_or_default(path: impl AsRef<Path>) -> (Self, Option<WeightsError>) {
        match Self::from_file(path) {
            Ok(c) => (c, None),
            Err(e) => (Self::embedded_default(), Some(e)),
        }
    }

    /// What the weights file says about the model.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Number of classes (outputs per window).
    pub fn n_classes(&self) -> usize {
        self.spec.n_classes()
    }

    /// Values in one window (`n_mels × window_frames`, mel-major).
    pub fn window_len(&self) -> usize {
        self.spec.mel.window_len()
    }

    /// A short description of where inference runs.
    pub fn device_name(&self) -> String {
        match &self.backend {
            Backend::Cpu { .. } => format!(
                "CPU ({} thread{})",
                self.threads,
                if self.threads == 1 { "" } else { "s" }
            ),
            Backend::Candle { device, .. } => format!("{device:?}"),
        }
    }

    /// Threads a batch may be spread over on the CPU (a single window always uses one).
    /// Allocates scratch space for each; call it outside any real-time path.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        if let Backend::Cpu { net, scratch } = &mut self.backend {
            while scratch.len() < self.threads {
                scratch.push(net.scratch());
            }
        }
    }

    /// Probabilities for one mel-major window of log-Mel dB values. On the CPU this allocates
    /// nothing; on a GPU each call makes the device's input and output tensors.
    pub fn predict(&mut self, window: &[f32], probs: &mut [f32]) -> Result<(), PredictError> {
        match &mut self.backend {
            Backend::Cpu { net, scratch } => {
                net.logits(window, &mut scratch[0], probs)?;
                probs.iter_mut().for_each(|p| *p = sigmoid(*p));
                Ok(())
            }
            Backend::Candle { net, device, clean } => {
                candle_probabilities(net, device, &self.spec, clean, window, 1, probs)
            }
        }
    }

    /// Probabilities for `batch` windows back to back; returns `batch × n_classes` values.
    pub fn predict_batch(
        &mut self,
        windows: &[f32],
        batch: usize,
    ) -> Result<Vec<f32>, PredictError> {
        let mut out = vec![0.0; batch * self.spec.n_classes()];
        match &mut self.backend {
            Backend::Cpu { net, scratch } => {
                net.logits_batch(windows, batch, self.threads, scratch, &mut out)?;
                out.iter_mut().for_each(|p| *p = sigmoid(*p));
            }
            Backend::Candle { net, device, clean } => {
                candle_probabilities(net, device, &self.spec, clean, windows, batch, &mut out)?
            }
        }
        Ok(out)
    }
}

/// The candle network's probabilities for `batch` windows, written into `out`.
fn candle_probabilities(
    net: &InstruNet,
    device: &Device,
    spec: &ModelSpec,
    clean: &mut Vec<f32>,
    windows: &[f32],
    batch: usize,
    out: &mut [f32],
) -> Result<(), PredictError> {
    if batch == 0 {
        return Err(InputError::EmptyBatch.into());
    }
    let (wl, nc) = (spec.mel.window_len(), spec.n_classes());
    if windows.len() != batch * wl {
        return Err(InputError::WrongLength {
            what: if batch == 1 {
                "window"
            } else {
                "batch of windows"
            },
            expected: batch * wl,
            got: windows.len(),
        }
        .into());
    }
    if out.len() != batch * nc {
        return Err(InputError::WrongLength {
            what: "probabilities",
            expected: batch * nc,
            got: out.len(),
        }
        .into());
    }
    clean.clear();
    clean.extend(windows.iter().map(|&x| clean_db(x)));
    let xs = windows_to_tensor(clean, batch, spec, device)?;
    let probs = net.probabilities(&xs)?.flatten_all()?.to_vec1::<f32>()?;
    out.copy_from_slice(&probs);
    Ok(())
}

/// Logistic sigmoid that stays finite for any finite input.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Provenance;

    fn classifier() -> Classifier {
        Classifier::new(
            &Weights::random(ModelSpec::new_default(Provenance::default()), 3),
            &Device::Cpu,
        )
        .unwrap()
    }

    fn window(c: &Classifier, level: f32) -> Vec<f32> {
        (0..c.window_len())
            .map(|i| level + (i % 13) as f32)
            .collect()
    }

    #[test]
    fn probabilities_are_in_range_and_match_the_batch_path() {
        let mut c = classifier();
        let w = window(&c, -60.0);
        let mut p = vec![0.0; c.n_classes()];
        c.predict(&w, &mut p).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(c.predict_batch(&w, 1).unwrap(), p);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        let mut c = classifier();
        let mut p = vec![0.0; c.n_classes()];
        assert!(matches!(
            c.predict(&[0.0; 10], &mut p),
            Err(PredictError::Input(InputError::WrongLength { .. }))
        ));
        let w = window(&c, -50.0);
        assert!(c.predict(&w, &mut p[..3]).is_err());
        assert!(matches!(
            c.predict_batch(&[], 0),
            Err(PredictError::Input(InputError::EmptyBatch))
        ));
        assert!(c.predict_batch(&w, 2).is_err());
    }

    #[test]
    fn nan_inf_and_huge_input_give_finite_probabilities() {
        let mut c = classifier();
        let mut p = vec![0.0; c.n_classes()];
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30] {
            let mut w = window(&c, -40.0);
            w[100] = bad;
            w[5000] = bad;
            c.predict(&w, &mut p).unwrap();
            assert!(
                p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
                "{bad}: {p:?}"
            );
        }
    }

    #[test]
    fn threads_do_not_change_results() {
        let mut c = classifier();
        let batch: Vec<f32> = (0..5)
            .flat_map(|k| window(&c, -80.0 + 10.0 * k as f32))
            .collect();
        let one = c.predict_batch(&batch, 5).unwrap();
        c.set_threads(2);
        assert_eq!(c.predict_batch(&batch, 5).unwrap(), one);
        assert!(c.device_name().contains("2 threads"));
    }

    #[test]
    fn the_candle_network_agrees_with_the_cpu_path_for_one_window_and_a_batch() {
        let weights = Weights::random(ModelSpec::new_default(Provenance::default()), 3);
        let mut cpu = Classifier::new(&weights, &Device::Cpu).unwrap();
        let mut candle = Classifier::new_candle(&weights, &Device::Cpu).unwrap();
        assert!(candle.device_name().contains("Cpu"));
        let mut w = window(&cpu, -60.0);
        // Both clean bad values the same way.
        w[7] = f32::NAN;
        w[900] = f32::NEG_INFINITY;
        let (mut a, mut b) = (vec![0.0; cpu.n_classes()], vec![0.0; cpu.n_classes()]);
        cpu.predict(&w, &mut a).unwrap();
        candle.predict(&w, &mut b).unwrap();
        let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(close(&a, &b), "{a:?} vs {b:?}");
        let batch: Vec<f32> = [w.clone(), window(&cpu, -30.0)].concat();
        let (x, y) = (
            cpu.predict_batch(&batch, 2).unwrap(),
            candle.predict_batch(&batch, 2).unwrap(),
        );
        assert!(close(&x, &y), "{x:?} vs {y:?}");
        assert!(close(&y[..b.len()], &b));
        assert!(candle.predict(&w, &mut b[..3]).is_err());
        assert!(candle.predict(&w[1..], &mut b).is_err());
        assert!(candle.predict_batch(&[], 0).is_err());
    }

    #[test]
    fn sigmoid_is_finite_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(2.0) + sigmoid(-2.0) - 1.0).abs() < 1e-6);
    }
}
