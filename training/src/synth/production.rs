//! Production effects on rendered stems and mixes, so that dry SoundFont renders are not all the
//! model hears: EQ, compression, saturation, chorus, a stereo spread heard in mono, reverbs of
//! several sizes, and level automation, drawn at random per stem and for the mix bus. The
//! settings are written into the track's metadata (`data::slakh::production`); this module draws
//! and applies them.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, Type};
use rand::{Rng, rngs::StdRng};

use crate::data::slakh::production::{
    Chorus, Compressor, EqBand, EqKind, Production, Reverb, StereoWidth,
};
use crate::synth::render::playing_level_db;

/// Random effects for one stem. About one stem in five stays dry; the others draw each effect
/// with its own chance: EQ 70 %, compression 40 % (drums 60 %), saturation 20 %, chorus 15 %
/// (not drums), stereo spread 20 %, reverb 50 % (small room to hall), level automation 40 %.
pub fn draw_stem(rng: &mut StdRng, is_drum: bool) -> Production {
    if rng.random_bool(0.2) {
        return Production::default();
    }
    Production {
        eq: if rng.random_bool(0.7) {
            (0..rng.random_range(1..=3))
                .map(|_| draw_eq_band(rng))
                .collect()
        } else {
            Vec::new()
        },
        compressor: rng
            .random_bool(if is_drum { 0.6 } else { 0.4 })
            .then(|| draw_compressor(rng)),
        saturation_db: rng.random_bool(0.2).then(|| rng.random_range(3.0..24.0)),
        chorus: (!is_drum && rng.random_bool(0.15)).then(|| Chorus {
            delay_ms: rng.random_range(7.0..25.0),
            depth_ms: rng.random_range(0.5..4.0),
            rate_hz: rng.random_range(0.1..2.5),
            mix: rng.random_range(0.25..0.6),
        }),
        stereo_width: rng.random_bool(0.2).then(|| StereoWidth {
            delay_ms: rng.random_range(3.0..30.0),
            side_gain: rng.random_range(0.3..1.0) * if rng.random_bool(0.25) { -1.0 } else { 1.0 },
        }),
        reverb: rng.random_bool(0.5).then(|| draw_reverb(rng, 0.1..0.5)),
        automation: if rng.random_bool(0.4) {
            draw_automation(rng)
        } else {
            Vec::new()
        },
    }
}

/// Random effects for the mix bus: EQ 60 %, glue compression 50 %, light saturation 15 %, a
/// room or hall 30 %; one mix in four stays as the stems sum.
pub fn draw_bus(rng: &mut StdRng) -> Production {
    if rng.random_bool(0.25) {
        return Production::default();
    }
    Production {
        eq: if rng.random_bool(0.6) {
            (0..rng.random_range(1..=2))
                .map(|_| draw_eq_band(rng))
                .collect()
        } else {
            Vec::new()
        },
        compressor: rng.random_bool(0.5).then(|| Compressor {
            threshold_below_level_db: rng.random_range(0.0..8.0),
            ratio: rng.random_range(1.5..4.0),
            attack_ms: rng.random_range(5.0..40.0),
            release_ms: rng.random_range(80.0..400.0),
        }),
        saturation_db: rng.random_bool(0.15).then(|| rng.random_range(2.0..9.0)),
        reverb: rng.random_bool(0.3).then(|| draw_reverb(rng, 0.05..0.25)),
        ..Production::default()
    }
}

fn draw_eq_band(rng: &mut StdRng) -> EqBand {
    let kind = [
        EqKind::LowShelf,
        EqKind::HighShelf,
        EqKind::Peak,
        EqKind::Peak,
        EqKind::HighPass,
        EqKind::LowPass,
    ][rng.random_range(0..6)];
    let log_hz = |rng: &mut StdRng, lo: f32, hi: f32| (rng.random_range(lo.ln()..hi.ln())).exp();
    let hz = match kind {
        EqKind::LowShelf => log_hz(rng, 80.0, 400.0),
        EqKind::HighShelf => log_hz(rng, 2000.0, 7000.0),
        EqKind::Peak => log_hz(rng, 150.0, 6000.0),
        EqKind::HighPass => log_hz(rng, 40.0, 400.0),
        EqKind::LowPass => log_hz(rng, 3000.0, 7500.0),
    };
    EqBand {
        kind,
        hz,
        db: rng.random_range(-12.0..9.0),
        q: rng.random_range(0.5..2.5),
    }
}

fn draw_compressor(rng: &mut StdRng) -> Compressor {
    Compressor {
        threshold_below_level_db: rng.random_range(0.0..15.0),
        ratio: rng.random_range(2.0..10.0),
        attack_ms: rng.random_range(0.5..30.0),
        release_ms: rng.random_range(30.0..300.0),
    }
}

fn draw_reverb(rng: &mut StdRng, wet: std::ops::Range<f32>) -> Reverb {
    Reverb {
        size: rng.random_range(0.0..1.0),
        damping: rng.random_range(0.1..0.8),
        wet: rng.random_range(wet),
        predelay_ms: rng.random_range(0.0..40.0),
    }
}

/// Rides, fades and quiet parts: a few breakpoints over the first two minutes, each within
/// ±6 dB of a base that is 0 dB, or −8 to −20 dB for a part kept quiet in the mix.
fn draw_automation(rng: &mut StdRng) -> Vec<(f32, f32)> {
    let base = if rng.random_bool(0.3) {
        rng.random_range(-20.0..-8.0)
    } else {
        0.0
    };
    let mut t = 0.0f32;
    let mut points = Vec::new();
    if rng.random_bool(0.3) {
        // A fade in.
        points.push((0.0, base - 30.0));
        t = rng.random_range(1.0..6.0);
    }
    while t < 120.0 {
        points.push((t, base + rng.random_range(-6.0..6.0)));
        t += rng.random_range(4.0..25.0);
    }
    points
}

/// Applies effects to a stem or a mix in place (see [`Production`]'s order). The signal keeps
/// its playing level through the effects; the automation then changes it.
pub fn apply(p: &Production, x: &mut [f32], sample_rate: u32) {
    let level = playing_level_db(x, sample_rate);
    if !level.is_finite() {
        return;
    }
    eq(&p.eq, x, sample_rate);
    if let Some(c) = &p.compressor {
        compress(c, x, sample_rate, level);
    }
    if let Some(drive) = p.saturation_db {
        saturate(drive, x);
    }
    if let Some(c) = &p.chorus {
        chorus(c, x, sample_rate);
    }
    if let Some(w) = &p.stereo_width {
        fold_to_mono(w, x, sample_rate);
    }
    if let Some(r) = &p.reverb {
        reverb(r, x, sample_rate);
    }
    bring_to_level(x, sample_rate, level);
    automate(&p.automation, x, sample_rate);
}

/// Scales `x` so that its playing level is `level_db` again.
fn bring_to_level(x: &mut [f32], sample_rate: u32, level_db: f32) {
    let after = playing_level_db(x, sample_rate);
    if after.is_finite() {
        let g = 10f32.powf((level_db - after) / 20.0);
        x.iter_mut().for_each(|v| *v *= g);
    }
}

fn eq(bands: &[EqBand], x: &mut [f32], sample_rate: u32) {
    let nyquist = sample_rate as f32 / 2.0;
    for b in bands {
        // A band above the rate's reach (a 7 kHz shelf at 16 kHz is fine, at 8 kHz it is not)
        // is left out rather than failing the track.
        let hz = b.hz.min(nyquist * 0.9);
        let kind = match b.kind {
            EqKind::LowShelf => Type::LowShelf(b.db),
            EqKind::HighShelf => Type::HighShelf(b.db),
            EqKind::Peak => Type::PeakingEQ(b.db),
            EqKind::HighPass => Type::HighPass,
            EqKind::LowPass => Type::LowPass,
        };
        // The frequency as a share of Nyquist: biquad 0.5's `from_params` divides by twice the
        // rate instead, which puts every filter at a quarter of its frequency.
        let Ok(c) = Coefficients::<f32>::from_normalized_params(kind, hz / nyquist, b.q) else {
            continue;
        };
        let mut f = DirectForm2Transposed::<f32>::new(c);
        x.iter_mut().for_each(|v| *v = f.run(*v));
    }
}

fn compress(c: &Compressor, x: &mut [f32], sample_rate: u32, level_db: f32) {
    let coef = |ms: f32| (-1.0 / (ms.max(0.05) * 1e-3 * sample_rate as f32)).exp();
    let (attack, release) = (coef(c.attack_ms), coef(c.release_ms));
    // The threshold sits relative to the stem's RMS level; the envelope follows the peak, which
    // sits some 10 dB above it.
    let threshold = level_db + 10.0 - c.threshold_below_level_db;
    let slope = 1.0 - 1.0 / c.ratio.max(1.0);
    let mut env = 0.0f32;
    for v in x.iter_mut() {
        let a = v.abs();
        let k = if a > env { attack } else { release };
        env = k * env + (1.0 - k) * a;
        let env_db = 20.0 * env.max(1e-9).log10();
        let over = env_db - threshold;
        if over > 0.0 {
            *v *= 10f32.powf(-over * slope / 20.0);
        }
    }
}

fn saturate(drive_db: f32, x: &mut [f32]) {
    // Driven relative to the signal's peak, so that the drive, not the stem's level, decides
    // how much it distorts.
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak <= 0.0 {
        return;
    }
    let g = 10f32.powf(drive_db / 20.0) / peak;
    x.iter_mut().for_each(|v| *v = (g * *v).tanh() / g);
}

/// A delay line read at a fractional, moving position.
fn delayed(buf: &[f32], i: usize, delay: f32) -> f32 {
    let pos = i as f32 - delay;
    if pos < 0.0 {
        return 0.0;
    }
    let j = pos.floor() as usize;
    let frac = pos - j as f32;
    let a = buf[j];
    let b = buf.get(j + 1).copied().unwrap_or(0.0);
    a + frac * (b - a)
}

fn chorus(c: &Chorus, x: &mut [f32], sample_rate: u32) {
    let dry = x.to_vec();
    let sr = sample_rate as f32;
    for (i, v) in x.iter_mut().enumerate() {
        let phase = std::f32::consts::TAU * c.rate_hz * i as f32 / sr;
        let d = (c.delay_ms + c.depth_ms * phase.sin()) * 1e-3 * sr;
        *v = (1.0 - c.mix) * dry[i] + c.mix * delayed(&dry, i, d);
    }
}

fn fold_to_mono(w: &StereoWidth, x: &mut [f32], sample_rate: u32) {
    let dry = x.to_vec();
    let d = (w.delay_ms * 1e-3 * sample_rate as f32).round() as usize;
    for (i, v) in x.iter_mut().enumerate() {
        let side = if i >= d { dry[i - d] } else { 0.0 };
        *v = 0.5 * (dry[i] + w.side_gain * side);
    }
}

/// Freeverb's comb and allpass lengths at 44.1 kHz, scaled to the rate.
const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];

fn reverb(r: &Reverb, x: &mut [f32], sample_rate: u32) {
    let scale = sample_rate as f32 / 44_100.0;
    let feedback = 0.7 + 0.28 * r.size.clamp(0.0, 1.0);
    let damp = 0.4 * r.damping.clamp(0.0, 1.0);
    let predelay = (r.predelay_ms * 1e-3 * sample_rate as f32) as usize;
    let mut combs: Vec<(Vec<f32>, usize, f32)> = COMBS
        .iter()
        .map(|&n| (vec![0.0; ((n as f32 * scale) as usize).max(1)], 0, 0.0))
        .collect();
    let mut allpasses: Vec<(Vec<f32>, usize)> = ALLPASSES
        .iter()
        .map(|&n| (vec![0.0; ((n as f32 * scale) as usize).max(1)], 0))
        .collect();
    let dry = x.to_vec();
    for (i, v) in x.iter_mut().enumerate() {
        let input = if i >= predelay {
            dry[i - predelay]
        } else {
            0.0
        } * 0.015;
        let mut out = 0.0;
        for (buf, pos, store) in combs.iter_mut() {
            let y = buf[*pos];
            *store = y * (1.0 - damp) + *store * damp;
            buf[*pos] = input + *store * feedback;
            *pos = (*pos + 1) % buf.len();
            out += y;
        }
        for (buf, pos) in allpasses.iter_mut() {
            let b = buf[*pos];
            buf[*pos] = out + b * 0.5;
            *pos = (*pos + 1) % buf.len();
            out = b - out;
        }
        *v = (1.0 - r.wet) * dry[i] + r.wet * out * 3.0;
    }
}

fn automate(points: &[(f32, f32)], x: &mut [f32], sample_rate: u32) {
    if points.is_empty() {
        return;
    }
    let sr = sample_rate as f32;
    let mut k = 0;
    for (i, v) in x.iter_mut().enumerate() {
        let t = i as f32 / sr;
        while k + 1 < points.len() && points[k + 1].0 <= t {
            k += 1;
        }
        let db = if t <= points[0].0 {
            points[0].1
        } else if k + 1 < points.len() {
            let (t0, d0) = points[k];
            let (t1, d1) = points[k + 1];
            d0 + (d1 - d0) * (t - t0) / (t1 - t0).max(1e-6)
        } else {
            points[k].1
        };
        *v *= 10f32.powf(db / 20.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sine(hz: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.1 * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    fn rms_db(x: &[f32]) -> f32 {
        let p = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        (10.0 * p.log10()) as f32
    }

    #[test]
    fn eq_bands_boost_and_cut_where_they_are_set() {
        let rate = 16_000;
        let band = |kind, hz, db| EqBand {
            kind,
            hz,
            db,
            q: 1.0,
        };
        let gain = |b: EqBand, probe: f32| {
            let mut x = sine(probe, rate, 1.0);
            let before = rms_db(&x[4000..]);
            eq(&[b], &mut x, rate);
            rms_db(&x[4000..]) - before
        };
        assert!((gain(band(EqKind::Peak, 1000.0, 6.0), 1000.0) - 6.0).abs() < 0.5);
        assert!(gain(band(EqKind::Peak, 1000.0, 6.0), 6000.0).abs() < 1.0);
        assert!((gain(band(EqKind::LowShelf, 300.0, -9.0), 60.0) + 9.0).abs() < 1.0);
        assert!(gain(band(EqKind::HighPass, 400.0, 0.0), 50.0) < -20.0);
        assert!(gain(band(EqKind::LowPass, 3000.0, 0.0), 7000.0) < -10.0);
        // A band above the rate's reach is moved below Nyquist, not a failure.
        assert!(gain(band(EqKind::HighShelf, 20_000.0, 6.0), 1000.0).abs() < 1.0);
    }

    #[test]
    fn a_stem_keeps_its_playing_level_through_its_effects_and_then_follows_its_automation() {
        let rate = 16_000;
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..30 {
            let mut p = draw_stem(&mut rng, false);
            p.automation.clear();
            let mut x = sine(440.0, rate, 3.0);
            let level = playing_level_db(&x, rate);
            apply(&p, &mut x, rate);
            assert!(x.iter().all(|v| v.is_finite()), "{p:?}");
            assert!(
                (playing_level_db(&x, rate) - level).abs() < 0.5,
                "{p:?}: {} against {level}",
                playing_level_db(&x, rate)
            );
        }
        let mut x = sine(440.0, rate, 4.0);
        let p = Production {
            automation: vec![(1.0, 0.0), (3.0, -20.0)],
            ..Default::default()
        };
        apply(&p, &mut x, rate);
        let at =
            |s: f32| rms_db(&x[(s * rate as f32) as usize..((s + 0.2) * rate as f32) as usize]);
        assert!(
            (at(0.2) - at(3.5) - 20.0).abs() < 0.5,
            "{} {}",
            at(0.2),
            at(3.5)
        );
        assert!(
            (at(1.9) - at(0.2) + 9.0).abs() < 1.5,
            "{}",
            at(1.9) - at(0.2)
        );
    }

    #[test]
    fn the_reverb_rings_on_longer_in_a_hall_than_in_a_small_room() {
        let rate = 16_000;
        let tail = |size: f32| {
            let mut x = vec![0.0f32; rate as usize * 3];
            x[..800].iter_mut().for_each(|v| *v = 0.5);
            let r = Reverb {
                size,
                damping: 0.3,
                wet: 0.5,
                predelay_ms: 0.0,
            };
            reverb(&r, &mut x, rate);
            rms_db(&x[rate as usize..rate as usize * 2])
        };
        let (room, hall) = (tail(0.0), tail(1.0));
        assert!(hall > room + 10.0, "room {room} dB, hall {hall} dB");
        assert!(room.is_finite() && hall < 0.0);
    }

    #[test]
    fn the_compressor_narrows_the_gap_between_loud_and_quiet_passages() {
        let rate = 16_000;
        let mut x = sine(300.0, rate, 2.0);
        x[..16_000].iter_mut().for_each(|v| *v *= 0.1); // a quiet second, then a loud one
        let c = Compressor {
            threshold_below_level_db: 20.0,
            ratio: 8.0,
            attack_ms: 1.0,
            release_ms: 50.0,
        };
        let gap = |x: &[f32]| rms_db(&x[20_000..]) - rms_db(&x[4_000..16_000]);
        let before = gap(&x);
        let level = playing_level_db(&x, rate);
        compress(&c, &mut x, rate, level);
        assert!(gap(&x) < before - 6.0, "{before} dB gap became {}", gap(&x));
    }

    #[test]
    fn settings_round_trip_through_yaml() {
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..20 {
            let drum = rng.random_bool(0.3);
            let stem = draw_stem(&mut rng, drum);
            let bus = draw_bus(&mut rng);
            let back: Production =
                serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&stem).unwrap()).unwrap();
            assert_eq!(back, stem);
            let back: Production =
                serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&bus).unwrap()).unwrap();
            assert_eq!(back, bus);
        }
    }
}
