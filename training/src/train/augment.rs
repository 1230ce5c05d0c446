//! Augmented training examples: random gain, small time shifts, and mixing two windows of different
//! tracks with the union of their labels.

use instrunet_model::mel::SILENCE_DB;
use rand::Rng;
use rand::rngs::StdRng;

use crate::data::dataset::WindowSet;
use crate::train::config::TrainConfig;

/// Fills `out` with example `i` of `set`, augmented; returns its labels.
pub(super) fn augmented_example(
    set: &WindowSet,
    i: usize,
    config: &TrainConfig,
    frames: usize,
    rng: &mut StdRng,
    out: &mut [f32],
    labels: &mut [f32],
) {
    let src = set.window(i);
    let gain = rng.random_range(-config.gain_db..=config.gain_db);
    let shift = rng.random_range(-(config.shift_frames as i64)..=config.shift_frames as i64);
    let mels = src.len() / frames;
    for m in 0..mels {
        let row = &src[m * frames..(m + 1) * frames];
        let dst = &mut out[m * frames..(m + 1) * frames];
        for (f, d) in dst.iter_mut().enumerate() {
            // Shifted in time, the edge frame repeated into the gap.
            let s = (f as i64 - shift).clamp(0, frames as i64 - 1) as usize;
            *d = (row[s].to_f32() + gain).max(SILENCE_DB);
        }
    }
    labels.copy_from_slice(set.label(i));
    if rng.random_bool(config.mix_probability) && set.tracks.len() > 1 {
        // Another track's window, quieter, added in power: the mix of the two sounds, and the
        // union of their labels.
        let j = loop {
            let j = rng.random_range(0..set.len());
            if set.track_of[j] != set.track_of[i] {
                break j;
            }
        };
        let other_gain = gain + rng.random_range(-9.0..=0.0f32);
        for (d, &o) in out.iter_mut().zip(set.window(j)) {
            let b = (o.to_f32() + other_gain).max(SILENCE_DB);
            let (hi, lo) = if *d > b { (*d, b) } else { (b, *d) };
            *d = hi + 10.0 * (1.0 + 10f32.powf((lo - hi) / 10.0)).log10();
        }
        for (l, &o) in labels.iter_mut().zip(set.label(j)) {
            *l = l.max(o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    use crate::train::config::TrainConfig;

    #[test]
    fn mixing_takes_the_union_of_labels_and_adds_power() {
        let mut set = WindowSet::new(4, 2);
        set.windows = vec![half::f16::from_f32(-20.0); 8];
        set.labels = vec![1.0, 0.0, 0.0, 1.0];
        set.track_of = vec![0, 1];
        set.tracks = vec!["a".into(), "b".into()];
        let config = TrainConfig {
            gain_db: 0.0,
            shift_frames: 0,
            mix_probability: 1.0,
            ..Default::default()
        };
        let mut rng = StdRng::seed_from_u64(3);
        let (mut out, mut labels) = (vec![0.0; 4], vec![0.0; 2]);
        augmented_example(&set, 0, &config, 2, &mut rng, &mut out, &mut labels);
        assert_eq!(labels, vec![1.0, 1.0]);
        // Two equal powers sum to +3 dB at most; a quieter second window adds less.
        assert!(
            out.iter().all(|&v| v > -20.0 && v <= -20.0 + 3.02),
            "{out:?}"
        );
    }
}
