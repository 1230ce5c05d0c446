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
    /// Variables that step at a multiple of the learning rate, by name.
    lr_scales: BTreeMap<String, f64>,
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
            lr_scales: BTreeMap::new(),
        })
    }

    /// Steps the variable `name` (if the optimiser has it) at `scale` times the learning rate
    /// given to [`AdamW::step`], weight decay included.
    pub fn scale_lr(&mut self, name: &str, scale: f64) {
        if self.vars.iter().any(|(n, _)| n == name) {
            self.lr_scales.insert(name.to_owned(), scale);
        }
    }

    /// One update at learning rate `lr`. Variables without a gradient (BatchNorm's running
    /// statistics) are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        let base_lr = lr;
        for (name, var) in &self.vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let lr = base_lr * self.lr_scales.get(name).copied().unwrap_or(1.0);
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

    #[test]
    fn a_scaled_variable_steps_that_many_times_as_far() {
        // Adam's first step moves every element by lr (times the sign of its gradient) less the
        // decay: a variable at 30 times the rate moves 30 times as far.
        let dev = Device::Cpu;
        let vm = VarMap::new();
        let init = candle_nn::Init::Const(0.0);
        let a = vm.get(3, "a", init, DType::F32, &dev).unwrap();
        let b = vm.get(3, "b", init, DType::F32, &dev).unwrap();
        let mut opt = AdamW::new(&vm, AdamWConfig::default()).unwrap();
        opt.scale_lr("b", 30.0);
        opt.scale_lr("absent", 5.0);
        let x = Tensor::new(&[1.0f32, -2.0, 3.0], &dev).unwrap();
        let loss = ((&a * &x).unwrap().sum_all().unwrap() + (&b * &x).unwrap().sum_all().unwrap())
            .unwrap();
        opt.step(&loss.backward().unwrap(), 1e-3).unwrap();
        let a: Vec<f32> = a.to_vec1().unwrap();
        let b: Vec<f32> = b.to_vec1().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x.abs() - 1e-3).abs() < 1e-6, "{a:?}");
            assert!((y / x - 30.0).abs() < 1e-3, "{a:?} vs {b:?}");
        }
    }
}
