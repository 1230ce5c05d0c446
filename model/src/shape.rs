//! What a [`ModelSpec`] implies for the network's tensors: their names and shapes, the width of
//! the hidden layer, the frequency bands of the last pool and the BatchNorm epsilon. Shared by the
//! weights file's validation ([`crate::weights`]), the candle network ([`crate::net`]) and the CPU
//! network ([`crate::cpu`]), which all sit above it.

use crate::spec::ModelSpec;

/// Width of the hidden fully connected layer.
pub const FC_HIDDEN: usize = 256;
/// BatchNorm epsilon (PyTorch's default).
pub const BN_EPS: f64 = 1e-5;
/// The per-feature weight of the pool's maximum over time (networks with `time_max`).
pub const TIME_MAX_GATE: &str = "time_max_gate";

/// Every tensor of the network `spec` describes, with its shape, in file order.
pub fn tensor_shapes(spec: &ModelSpec) -> Vec<(String, Vec<usize>)> {
    let n_classes = spec.n_classes();
    let mut shapes = Vec::new();
    let mut c_in = 1;
    for (i, &c) in spec.network.block_channels().iter().enumerate() {
        let n = i + 1;
        shapes.push((format!("conv{n}.weight"), vec![c, c_in, 3, 3]));
        shapes.push((format!("conv{n}.bias"), vec![c]));
        for p in ["weight", "bias", "running_mean", "running_var"] {
            shapes.push((format!("bn{n}.{p}"), vec![c]));
        }
        c_in = c;
    }
    let features = c_in * spec.network.pool_bands;
    if spec.network.time_max {
        shapes.push((TIME_MAX_GATE.into(), vec![features]));
    }
    shapes.push(("fc1.weight".into(), vec![FC_HIDDEN, features]));
    shapes.push(("fc1.bias".into(), vec![FC_HIDDEN]));
    shapes.push(("fc2.weight".into(), vec![n_classes, FC_HIDDEN]));
    shapes.push(("fc2.bias".into(), vec![n_classes]));
    shapes
}

/// Row ranges of `bands` adaptive-pool bands over `h` rows (PyTorch's rule: from
/// ⌊b·h/bands⌋ to ⌈(b+1)·h/bands⌉).
pub fn band_ranges(h: usize, bands: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..bands).map(move |b| (b * h / bands, ((b + 1) * h).div_ceil(bands)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_ranges_follow_pytorch_adaptive_pooling() {
        assert_eq!(
            band_ranges(16, 4).collect::<Vec<_>>(),
            [(0, 4), (4, 8), (8, 12), (12, 16)]
        );
        // PyTorch's AdaptiveAvgPool1d(3) over 5 values: [0, 2), [1, 4), [3, 5).
        assert_eq!(
            band_ranges(5, 3).collect::<Vec<_>>(),
            [(0, 2), (1, 4), (3, 5)]
        );
        assert_eq!(band_ranges(7, 1).collect::<Vec<_>>(), [(0, 7)]);
    }
}
