//! Augmented training examples: random gain, small time shifts, random EQ and Mel-axis shifts of
//! each source, mixing two windows of different tracks with the union of their labels, and a run
//! of Mel bands and a run of frames removed from the result.

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
    let timbre = Timbre::draw(config.eq_db, config.eq_bells, config.mel_shift, mels, rng);
    for m in 0..mels {
        let (row, eq) = timbre.source_row(src, m, frames);
        let dst = &mut out[m * frames..(m + 1) * frames];
        for (f, d) in dst.iter_mut().enumerate() {
            // Shifted in time, the edge frame repeated into the gap.
            let s = (f as i64 - shift).clamp(0, frames as i64 - 1) as usize;
            *d = (row[s].to_f32() + gain + eq).max(SILENCE_DB);
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
        // The other source has its own timbre change (different instruments, different EQ).
        let timbre = Timbre::draw(config.eq_db, config.eq_bells, config.mel_shift, mels, rng);
        for m in 0..mels {
            let (row, eq) = timbre.source_row(set.window(j), m, frames);
            for (d, &o) in out[m * frames..(m + 1) * frames].iter_mut().zip(row) {
                let b = (o.to_f32() + other_gain + eq).max(SILENCE_DB);
                let (hi, lo) = if *d > b { (*d, b) } else { (b, *d) };
                *d = hi + 10.0 * (1.0 + 10f32.powf((lo - hi) / 10.0)).log10();
            }
        }
        for (l, &o) in labels.iter_mut().zip(set.label(j)) {
            *l = l.max(o);
        }
    }
    if config.freq_mask > 0 {
        // A run of neighbouring bands taken out (as a deep notch or a band-limited source would):
        // an instrument is to be known by the rest of its spectrum too. At most a quarter of them.
        let width = rng.random_range(0..=config.freq_mask.min(mels / 4));
        let first = rng.random_range(0..=mels - width);
        out[first * frames..(first + width) * frames].fill(SILENCE_DB);
    }
    if config.time_mask > 0 {
        // A run of frames taken out of every band (a gap, a dropout, a note cut short): an
        // instrument is to be known from the rest of the window. At most a quarter of it.
        let width = rng.random_range(0..=config.time_mask.min(frames / 4));
        let first = rng.random_range(0..=frames - width);
        for row in out.chunks_exact_mut(frames) {
            row[first..first + width].fill(SILENCE_DB);
        }
    }
}

/// Changes the timbre of every window of `set` in place, as training's augmentation changes each
/// source's (EQ of ±`eq_db` with one bell, a Mel shift of up to `mel_shift` bands; no gain, time shift or
/// mixing), drawn from `seed`: validation windows that stand for fonts the model never heard,
/// for tuning thresholds that hold there too (`calibrate --timbre-eq-db`) and for picking the
/// epoch that holds there (`train --val-timbre-eq-db`).
pub fn change_timbres(set: &mut WindowSet, frames: usize, eq_db: f32, mel_shift: usize, seed: u64) {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(seed);
    let len = set.window_len;
    let mels = len / frames;
    let mut src = vec![0.0f32; len];
    for window in set.windows.chunks_exact_mut(len) {
        for (s, w) in src.iter_mut().zip(window.iter()) {
            *s = w.to_f32();
        }
        let timbre = Timbre::draw(eq_db, 1, mel_shift, mels, &mut rng);
        for m in 0..mels {
            let (row, eq) = timbre.source_row(&src, m, frames);
            for (w, &v) in window[m * frames..(m + 1) * frames].iter_mut().zip(row) {
                *w = half::f16::from_f32((v + eq).max(SILENCE_DB));
            }
        }
    }
}

/// One source window's random timbre change: a shift along the Mel axis and an EQ curve (a
/// linear tilt across the bands plus one or more bells), in dB per band.
struct Timbre {
    /// Bands the spectrum moves up (positive) or down.
    shift: i64,
    tilt_db: f32,
    /// The bells drawn (the first `n_bells` of `bells`).
    bells: [Bell; MAX_EQ_BELLS],
    n_bells: usize,
}

/// Most bells one EQ curve has (`train --eq-bells`).
pub const MAX_EQ_BELLS: usize = 4;

/// One bell of an EQ curve: its gain, and its centre and width as shares of the band range.
#[derive(Clone, Copy, Default)]
struct Bell {
    db: f32,
    centre: f32,
    width: f32,
}

impl Timbre {
    /// A change of EQ up to ±`eq_db` (a tilt and `eq_bells` bells, each of up to ±`eq_db`) and a
    /// Mel shift of up to `mel_shift` bands (at most an eighth of `mels`); nothing drawn from
    /// `rng` for what is 0, and the first bell drawn as when there was only one, so runs from
    /// before these settings replay.
    fn draw(eq_db: f32, eq_bells: usize, mel_shift: usize, mels: usize, rng: &mut StdRng) -> Self {
        let m = mel_shift.min(mels / 8) as i64;
        let shift = if m > 0 { rng.random_range(-m..=m) } else { 0 };
        let mut bells = [Bell::default(); MAX_EQ_BELLS];
        let (mut tilt_db, mut n_bells) = (0.0, 0);
        if eq_db > 0.0 {
            tilt_db = rng.random_range(-eq_db..=eq_db);
            n_bells = eq_bells.clamp(1, MAX_EQ_BELLS);
            for bell in &mut bells[..n_bells] {
                *bell = Bell {
                    db: rng.random_range(-eq_db..=eq_db),
                    centre: rng.random_range(0.0..1.0f32),
                    width: rng.random_range(0.04..0.25f32),
                };
            }
        }
        Self {
            shift,
            tilt_db,
            bells,
            n_bells,
        }
    }

    /// For output band `m` of a window of `frames`-long band rows: the source row it reads and
    /// the dB it adds.
    fn source_row<'a, T>(&self, window: &'a [T], m: usize, frames: usize) -> (&'a [T], f32) {
        let (band, eq) = self.band(m, window.len() / frames);
        (&window[band * frames..(band + 1) * frames], eq)
    }

    /// For output band `m` of `mels`: the source band it reads (the edge band repeated into the
    /// gap a shift leaves) and the dB it adds.
    fn band(&self, m: usize, mels: usize) -> (usize, f32) {
        let src = (m as i64 - self.shift).clamp(0, mels as i64 - 1) as usize;
        if self.n_bells == 0 {
            return (src, 0.0);
        }
        let x = m as f32 / (mels - 1).max(1) as f32;
        let bells: f32 = self.bells[..self.n_bells]
            .iter()
            .map(|b| {
                let z = (x - b.centre) / b.width;
                b.db * (-0.5 * z * z).exp()
            })
            .sum();
        (src, self.tilt_db * (x - 0.5) + bells)
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

    /// No gain, time shift or mixing: only what a test turns on changes a window.
    fn quiet() -> TrainConfig {
        TrainConfig {
            gain_db: 0.0,
            shift_frames: 0,
            mix_probability: 0.0,
            ..Default::default()
        }
    }

    /// The level of band `m` of `example`'s source window: a ramp whose moves are easy to see.
    fn ramp(m: usize) -> f32 {
        -60.0 + m as f32
    }

    fn example(config: &TrainConfig, seed: u64) -> Vec<f32> {
        example_of_frames(config, seed, 4)
    }

    /// Example `seed` of a window of 16 bands x `frames` frames, band m at ramp(m) dB.
    fn example_of_frames(config: &TrainConfig, seed: u64, frames: usize) -> Vec<f32> {
        let mels = 16;
        let mut set = WindowSet::new(mels * frames, 1);
        set.windows = (0..mels * frames)
            .map(|k| half::f16::from_f32(ramp(k / frames)))
            .collect();
        set.labels = vec![1.0];
        set.track_of = vec![0];
        set.tracks = vec!["a".into()];
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut out, mut labels) = (vec![0.0; mels * frames], vec![0.0]);
        augmented_example(&set, 0, config, frames, &mut rng, &mut out, &mut labels);
        out
    }

    #[test]
    fn without_eq_or_shift_the_spectrum_is_untouched_but_for_gain() {
        let out = example(&quiet(), 1);
        for (k, v) in out.iter().enumerate() {
            assert_eq!(*v, ramp(k / 4));
        }
    }

    #[test]
    fn eq_stays_within_its_range_and_changes_the_spectrum() {
        let config = TrainConfig {
            eq_db: 6.0,
            ..quiet()
        };
        let mut changed = 0;
        for seed in 0..20 {
            let out = example(&config, seed);
            for (k, v) in out.iter().enumerate() {
                let d = v - ramp(k / 4);
                // Tilt at most ±3 dB at the edges plus a bell of at most ±6 dB.
                assert!(d.abs() <= 9.0 + 1e-4, "band {} moved {d} dB", k / 4);
                // Frames of one band share its EQ.
                assert_eq!(*v, out[(k / 4) * 4]);
            }
            changed += out
                .iter()
                .enumerate()
                .any(|(k, v)| (v - ramp(k / 4)).abs() > 0.5) as usize;
        }
        assert!(changed >= 18, "only {changed} of 20 examples changed");
    }

    #[test]
    fn a_mel_shift_moves_bands_by_at_most_its_range() {
        let config = TrainConfig {
            mel_shift: 2,
            ..quiet()
        };
        let mut shifts = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let out = example(&config, seed);
            // A shift of s bands: band m holds source band m - s (edges repeated).
            let s = ramp(8) - out[8 * 4];
            assert!(s.abs() <= 2.0, "shifted {s} bands");
            for m in 2..14 {
                assert_eq!(out[m * 4], ramp(m) - s);
            }
            shifts.insert(s as i64);
        }
        assert_eq!(shifts.len(), 5, "{shifts:?}");
    }

    #[test]
    fn a_frequency_mask_silences_one_run_of_at_most_its_width() {
        let config = TrainConfig {
            freq_mask: 3,
            ..quiet()
        };
        let mut widths = std::collections::BTreeSet::new();
        for seed in 0..60 {
            let out = example(&config, seed);
            let masked: Vec<usize> = (0..16).filter(|&m| out[m * 4] == SILENCE_DB).collect();
            // One contiguous run; every other band as it was, every frame of a band alike.
            if let (Some(&a), Some(&b)) = (masked.first(), masked.last()) {
                assert_eq!(b - a + 1, masked.len(), "{masked:?}");
            }
            for (k, v) in out.iter().enumerate() {
                let band = k / 4;
                let want = if masked.contains(&band) {
                    SILENCE_DB
                } else {
                    ramp(band)
                };
                assert_eq!(*v, want);
            }
            widths.insert(masked.len());
        }
        assert_eq!(widths.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_time_mask_silences_one_run_of_frames_in_every_band() {
        // 16 bands x 16 frames: a run of at most 3 frames (a quarter of the window would be 4).
        let config = TrainConfig {
            time_mask: 3,
            ..quiet()
        };
        let frames = 16;
        let mut widths = std::collections::BTreeSet::new();
        for seed in 0..60 {
            let out = example_of_frames(&config, seed, frames);
            let masked: Vec<usize> = (0..frames).filter(|&f| out[f] == SILENCE_DB).collect();
            // One contiguous run of frames, the same in every band; every other value as it was.
            if let (Some(&a), Some(&b)) = (masked.first(), masked.last()) {
                assert_eq!(b - a + 1, masked.len(), "{masked:?}");
            }
            for (k, v) in out.iter().enumerate() {
                let (band, frame) = (k / frames, k % frames);
                let want = if masked.contains(&frame) {
                    SILENCE_DB
                } else {
                    ramp(band)
                };
                assert_eq!(*v, want, "band {band} frame {frame}");
            }
            widths.insert(masked.len());
        }
        assert_eq!(widths.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn more_bells_keep_the_first_and_shape_the_curve_further() {
        let one = TrainConfig {
            eq_db: 6.0,
            ..quiet()
        };
        let three = TrainConfig {
            eq_bells: 3,
            ..one.clone()
        };
        let mut differ = 0;
        for seed in 0..20 {
            let a = example(&one, seed);
            let b = example(&three, seed);
            for (k, v) in b.iter().enumerate() {
                // Tilt at most ±3 dB at the edges plus three bells of at most ±6 dB each.
                let d = v - ramp(k / 4);
                assert!(d.abs() <= 21.0 + 1e-4, "band {} moved {d} dB", k / 4);
                assert_eq!(*v, b[(k / 4) * 4]);
            }
            differ += (a != b) as usize;
        }
        assert!(
            differ >= 18,
            "only {differ} of 20 curves changed by the added bells"
        );
        // One bell draws what the single-bell EQ always drew: older runs replay.
        let mut rng = StdRng::seed_from_u64(9);
        let t = Timbre::draw(6.0, 1, 0, 16, &mut rng);
        let mut rng = StdRng::seed_from_u64(9);
        let (tilt, db, centre, width) = (
            rng.random_range(-6.0..=6.0f32),
            rng.random_range(-6.0..=6.0f32),
            rng.random_range(0.0..1.0f32),
            rng.random_range(0.04..0.25f32),
        );
        assert_eq!(
            (
                t.tilt_db,
                t.bells[0].db,
                t.bells[0].centre,
                t.bells[0].width
            ),
            (tilt, db, centre, width)
        );
    }

    #[test]
    fn changed_timbres_are_seeded_and_keep_labels_and_silence() {
        let (mels, frames) = (16, 4);
        let mut set = WindowSet::new(mels * frames, 1);
        set.windows = (0..3 * mels * frames)
            .map(|k| half::f16::from_f32(if k < mels * frames { SILENCE_DB } else { -40.0 }))
            .collect();
        set.labels = vec![0.0, 1.0, 1.0];
        let (mut a, mut b) = (set.clone(), set.clone());
        change_timbres(&mut a, frames, 6.0, 2, 7);
        change_timbres(&mut b, frames, 6.0, 2, 7);
        assert_eq!(a.windows, b.windows, "the same seed, the same change");
        assert_eq!(a.labels, set.labels);
        // Silence stays silence (nothing is raised above what EQ adds to a floor it clamps to).
        assert!(
            a.windows[..mels * frames]
                .iter()
                .all(|v| v.to_f32() <= SILENCE_DB + 9.0)
        );
        // The two loud windows changed, and differently.
        let (w1, w2) = (
            &a.windows[mels * frames..2 * mels * frames],
            &a.windows[2 * mels * frames..],
        );
        assert!(w1.iter().any(|v| (v.to_f32() + 40.0).abs() > 0.5));
        assert_ne!(w1, w2);
    }
}
