//! AdamW with a learning rate that changes per step and a state that can be saved and restored
//! (candle's `AdamW` keeps its moments private, so a checkpoint could not resume it exactly).
//! Same update as candle's and PyTorch's: decoupled weight decay, bias-corrected moments.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::VarMap;

/// Hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// The optimiser over a `VarMap`'s variables, by name.
pub struct AdamW {
    vars: Vec<(String, Var)>,
    first: BTreeMap<String, Tensor>,
    second: BTreeMap<String, Tensor>,
    pub step: u64,
    config: AdamWConfig,
}

impl AdamW {
    pub fn new(varmap: &VarMap, config: AdamWConfig) -> Result<Self> {
        let mut vars: Vec<(String, Var)> = varmap
            .data()
            .lock()
            .expect("VarMap lock poisoned")
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut first = BTreeMap::new();
        let mut second = BTreeMap::new();
        for (name, var) in &vars {
            first.insert(name.clone(), var.zeros_like()?);
            second.insert(name.clone(), var.zeros_like()?);
        }
        Ok(Self {
            vars,
            first,
            second,
            step: 0,
            config,
        })
    }

    /// One update at learning rate `lr`. Variables without a gradient (BatchNorm's running
    /// statistics) are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (name, var) in &self.vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let m = self.first.get_mut(name).expect("every var has moments");
            *m = ((&*m * c.beta1)? + (g * (1.0 - c.beta1))?)?;
            let v = self.second.get_mut(name).expect("every var has moments");
            *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&*m / bc1)?;
            let v_hat = (&*v / bc2)?;
            let decayed = (var.as_tensor() * (1.0 - lr * c.weight_decay))?;
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(())
    }

    /// The moments as named tensors (`adam.m.<var>`, `adam.v.<var>`), for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.first
            .iter()
            .map(|(n, t)| (format!("adam.m.{n}"), t.clone()))
            .chain(
                self.second
                    .iter()
                    .map(|(n, t)| (format!("adam.v.{n}"), t.clone())),
            )
            .collect()
    }

    /// Restores moments saved by [`AdamW::state`]; `step` is restored separately.
    pub fn load_state(
        &mut self,
        tensors: &std::collections::HashMap<String, Tensor>,
    ) -> Result<()> {
        for (name, var) in &self.vars {
            for (prefix, map) in [("adam.m.", &mut self.first), ("adam.v.", &mut self.second)] {
                let key = format!("{prefix}{name}");
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks {key}")))?;
                if t.dims() != var.dims() {
                    return Err(candle_core::Error::Msg(format!(
                        "{key}: shape {:?}, the model has {:?}",
                        t.dims(),
                        var.dims()
                    )));
                }
                map.insert(name.clone(), t.to_device(var.device())?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::Optimizer;

    #[test]
    fn matches_candles_adamw_step_for_step() {
        let dev = Device::Cpu;
        let make = || {
            let vm = VarMap::new();
            let w = vm
                .get((3, 2), "w", candle_nn::Init::Const(0.5), DType::F32, &dev)
                .unwrap();
            (vm, w)
        };
        let (vm_a, wa) = make();
        let (_vm_b, wb) = make();
        let mut ours = AdamW::new(&vm_a, AdamWConfig::default()).unwrap();
        let mut theirs = candle_nn::AdamW::new(
            vec![Var::from_tensor(&wb).unwrap()],
            candle_nn::ParamsAdamW {
                lr: 1e-2,
                ..Default::default()
            },
        )
        .unwrap();
        let x = Tensor::new(&[[1.0f32, -2.0, 3.0]], &dev).unwrap();
        for _ in 0..5 {
            let la = x.matmul(&wa).unwrap().sqr().unwrap().sum_all().unwrap();
            ours.step(&la.backward().unwrap(), 1e-2).unwrap();
            let lb = x.matmul(&wb).unwrap().sqr().unwrap().sum_all().unwrap();
            theirs.backward_step(&lb).unwrap();
        }
        let a: Vec<f32> = wa.flatten_all().unwrap().to_vec1().unwrap();
        let b: Vec<f32> = wb.flatten_all().unwrap().to_vec1().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}
