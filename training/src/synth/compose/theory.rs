//! Music theory for the composer: scales and keys, chords, progressions, voicings and moving
//! pitches within a range or a scale.

use rand::{Rng, rngs::StdRng};

pub(super) const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
pub(super) const MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 10];
pub(super) const DORIAN: [u8; 7] = [0, 2, 3, 5, 7, 9, 10];
pub(super) const MIXOLYDIAN: [u8; 7] = [0, 2, 4, 5, 7, 9, 10];
pub(super) const HARMONIC_MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 11];
pub(super) const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// A key: tonic and seven-note scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub mode: &'static str,
    pub(super) scale: [u8; 7],
}

impl Key {
    /// Pitch class of a scale degree (any integer, wrapping by octaves).
    fn degree_pc(&self, degree: i32) -> u8 {
        (self.tonic + self.scale[degree.rem_euclid(7) as usize]) % 12
    }

    fn contains(&self, pitch: i32) -> bool {
        let pc = (pitch - self.tonic as i32).rem_euclid(12) as u8;
        self.scale.contains(&pc)
    }
}

/// A chord: pitch classes, root first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chord {
    pub tones: Vec<u8>,
}

impl Chord {
    pub(super) fn root(&self) -> u8 {
        self.tones[0]
    }

    pub(super) fn fifth(&self) -> u8 {
        self.tones.get(2).copied().unwrap_or((self.root() + 7) % 12)
    }

    pub(super) fn has_pc(&self, pitch: i32) -> bool {
        self.tones.contains(&(pitch.rem_euclid(12) as u8))
    }

    /// The diatonic chord on a scale degree: triad, or seventh chord with `seventh`.
    fn diatonic(key: &Key, degree: i32, seventh: bool) -> Self {
        let n = if seventh { 4 } else { 3 };
        Self {
            tones: (0..n).map(|i| key.degree_pc(degree + 2 * i)).collect(),
        }
    }

    /// A dominant seventh on a pitch class (blues).
    fn dominant(root: u8) -> Self {
        Self {
            tones: [0, 4, 7, 10].iter().map(|i| (root + i) % 12).collect(),
        }
    }
}

pub(super) fn blues_progression(key: &Key) -> Vec<Chord> {
    let (i, iv, v) = (key.tonic, (key.tonic + 5) % 12, (key.tonic + 7) % 12);
    [i, i, i, i, iv, iv, i, i, v, iv, i, v]
        .iter()
        .map(|&r| Chord::dominant(r))
        .collect()
}

pub(super) fn progression(rng: &mut StdRng, key: &Key, sevenths: bool) -> Vec<Chord> {
    let minorish = key.scale[2] == 3;
    let templates: &[&[i32]] = if minorish {
        &[
            &[0, 5, 2, 6],
            &[0, 3, 4, 0],
            &[0, 6, 5, 6],
            &[0, 3, 6, 2],
            &[5, 6, 0, 0],
            &[0, 0, 3, 4],
            &[0, 3],
            &[0, 6],
            &[0, 5, 3, 4],
        ]
    } else {
        &[
            &[0, 4, 5, 3],
            &[0, 3, 4, 3],
            &[0, 5, 1, 4],
            &[1, 4, 0, 0],
            &[0, 3, 0, 4],
            &[5, 3, 0, 4],
            &[0, 2, 3, 4],
            &[0, 4, 5, 2, 3, 0, 3, 4],
            &[3, 4, 0, 5],
            &[0, 6, 3, 0],
        ]
    };
    let degrees: Vec<i32> = if rng.random_bool(0.25) {
        // A random walk that prefers moves by fourths and fifths and returns home.
        let n = [4, 4, 8][rng.random_range(0..3)];
        let mut d = 0i32;
        let mut out = vec![0];
        for _ in 1..n {
            d = (d + [3, 4, 1, 5, 2, 6][rng.random_range(0..6)]).rem_euclid(7);
            out.push(d);
        }
        out
    } else {
        templates[rng.random_range(0..templates.len())].to_vec()
    };
    degrees
        .into_iter()
        .map(|d| Chord::diatonic(key, d, sevenths && rng.random_bool(0.7)))
        .collect()
}

/// Moves a pitch by octaves into `range`.
pub(super) fn fit(mut pitch: i32, (lo, hi): (i32, i32)) -> i32 {
    while pitch < lo {
        pitch += 12;
    }
    while pitch > hi {
        pitch -= 12;
    }
    pitch.max(lo)
}

/// A voicing of `n` chord tones near `center`, the one moving least from `previous`.
pub(super) fn voicing(
    chord: &Chord,
    center: i32,
    n: usize,
    previous: &[i32],
    range: (i32, i32),
) -> Vec<i32> {
    let lo = (center - 7).max(range.0);
    let hi = (center + 14).min(range.1);
    let candidates: Vec<i32> = (lo..=hi).filter(|&p| chord.has_pc(p)).collect();
    if candidates.len() < n {
        return candidates;
    }
    let target = if previous.is_empty() {
        center as f64
    } else {
        previous.iter().sum::<i32>() as f64 / previous.len() as f64
    };
    (0..=candidates.len() - n)
        .map(|i| candidates[i..i + n].to_vec())
        .min_by(|a, b| {
            let da = (a.iter().sum::<i32>() as f64 / n as f64 - target).abs();
            let db = (b.iter().sum::<i32>() as f64 / n as f64 - target).abs();
            da.total_cmp(&db)
        })
        .unwrap_or_default()
}

/// Moves `pitch` by `steps` scale steps (snapping to the scale first).
pub(super) fn move_in_scale(key: &Key, pitch: i32, steps: i32) -> i32 {
    let mut p = pitch;
    while !key.contains(p) {
        p -= 1;
    }
    let dir = steps.signum();
    for _ in 0..steps.abs() {
        p += dir;
        while !key.contains(p) {
            p += dir;
        }
    }
    p
}
