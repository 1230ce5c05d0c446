//! Song form: styles (tempo, swing), meters, and the sections of a song with their chords.

use rand::{Rng, rngs::StdRng};

use super::theory::{Chord, Key, blues_progression, progression};

/// The style sets tempo range, groove, bass and comping patterns and swing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Rock,
    Pop,
    Funk,
    Disco,
    Jazz,
    Ballad,
    Latin,
    Reggae,
    Electronic,
    Folk,
    Waltz,
    Shuffle,
    Ambient,
    Metal,
}

impl Style {
    pub(super) const ALL: [Style; 14] = [
        Style::Rock,
        Style::Pop,
        Style::Funk,
        Style::Disco,
        Style::Jazz,
        Style::Ballad,
        Style::Latin,
        Style::Reggae,
        Style::Electronic,
        Style::Folk,
        Style::Waltz,
        Style::Shuffle,
        Style::Ambient,
        Style::Metal,
    ];

    pub(super) fn tempo_range(self) -> (f64, f64) {
        match self {
            Style::Rock => (95.0, 150.0),
            Style::Pop => (85.0, 130.0),
            Style::Funk => (90.0, 118.0),
            Style::Disco => (110.0, 130.0),
            Style::Jazz => (80.0, 200.0),
            Style::Ballad => (58.0, 80.0),
            Style::Latin => (90.0, 140.0),
            Style::Reggae => (65.0, 90.0),
            Style::Electronic => (118.0, 140.0),
            Style::Folk => (80.0, 130.0),
            Style::Waltz => (90.0, 180.0),
            Style::Shuffle => (85.0, 130.0),
            Style::Ambient => (55.0, 90.0),
            Style::Metal => (120.0, 190.0),
        }
    }

    pub(super) fn swing(self) -> f64 {
        match self {
            Style::Jazz | Style::Shuffle => 0.33,
            _ => 0.0,
        }
    }
}

/// Steps per bar and the steps where beats start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub numerator: u8,
    pub denominator: u8,
    /// Sixteenths in a bar.
    pub steps: usize,
    /// Where the felt beats start within the bar (dotted quarters in 6/8, 3+2+2 in 7/8, …).
    pub beats: Vec<usize>,
}

impl Meter {
    pub(super) fn new(numerator: u8, denominator: u8) -> Self {
        let step = 16 / denominator as usize;
        let steps = numerator as usize * step;
        let beats = match (numerator, denominator) {
            (6, 8) => vec![0, 6],
            (12, 8) => vec![0, 6, 12, 18],
            (7, 8) => vec![0, 6, 10],
            (5, 4) => vec![0, 4, 8, 12, 16],
            _ => (0..numerator as usize).map(|b| b * step).collect(),
        };
        Self {
            numerator,
            denominator,
            steps,
            beats,
        }
    }

    pub(super) fn beat_len(&self, i: usize) -> usize {
        self.beats.get(i + 1).copied().unwrap_or(self.steps) - self.beats[i]
    }
}

/// A chord and the steps it spans, absolute in the song.
#[derive(Debug, Clone)]
pub(super) struct ChordSpan {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) chord: Chord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Intro,
    Verse,
    Chorus,
    Bridge,
    Solo,
    Breakdown,
    Outro,
}

impl SectionKind {
    pub(super) fn energy(self) -> f64 {
        match self {
            SectionKind::Intro => 0.45,
            SectionKind::Verse => 0.65,
            SectionKind::Chorus => 1.0,
            SectionKind::Bridge => 0.75,
            SectionKind::Solo => 0.9,
            SectionKind::Breakdown => 0.35,
            SectionKind::Outro => 0.55,
        }
    }
}

/// A section of the song, absolute in steps.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    pub start: usize,
    pub bars: usize,
    pub(super) chords: Vec<ChordSpan>,
}

pub(super) fn plan_sections(
    rng: &mut StdRng,
    style: Style,
    meter: &Meter,
    key: &Key,
    bpm: f64,
) -> Vec<Section> {
    use SectionKind as K;
    let forms: [&[SectionKind]; 7] = [
        &[K::Intro, K::Verse, K::Chorus, K::Verse, K::Chorus, K::Outro],
        &[
            K::Intro,
            K::Verse,
            K::Chorus,
            K::Bridge,
            K::Chorus,
            K::Outro,
        ],
        &[K::Verse, K::Verse, K::Bridge, K::Verse],
        &[
            K::Intro,
            K::Verse,
            K::Chorus,
            K::Breakdown,
            K::Chorus,
            K::Outro,
        ],
        &[K::Verse, K::Chorus, K::Solo, K::Chorus, K::Outro],
        &[K::Intro, K::Chorus, K::Verse, K::Solo, K::Chorus],
        &[
            K::Intro,
            K::Verse,
            K::Breakdown,
            K::Verse,
            K::Solo,
            K::Outro,
        ],
    ];
    let form = forms[rng.random_range(0..forms.len())];
    let bar_seconds = meter.steps as f64 * 60.0 / bpm / 4.0;
    let target_seconds = rng.random_range(40.0..100.0);
    let mut bars: Vec<usize> = form
        .iter()
        .map(|k| match k {
            K::Intro | K::Outro => [2, 4][rng.random_range(0..2)],
            K::Breakdown => 4,
            _ => [4, 8, 8][rng.random_range(0..3)],
        })
        .collect();
    // Shorten long sections, then drop trailing ones, until the song fits its target length.
    while bars.iter().sum::<usize>() as f64 * bar_seconds > target_seconds {
        if let Some(i) = (0..bars.len())
            .filter(|&i| bars[i] > 4)
            .max_by_key(|&i| bars[i])
        {
            bars[i] /= 2;
        } else if bars.len() > 3 {
            bars.pop();
        } else {
            break;
        }
    }
    let blues = matches!(style, Style::Shuffle | Style::Rock) && rng.random_bool(0.3);
    let jazz7 = matches!(style, Style::Jazz | Style::Funk | Style::Latin) || rng.random_bool(0.2);
    // One progression per section kind, so a chorus sounds like the chorus each time.
    let mut progressions: Vec<(SectionKind, Vec<Chord>, usize)> = Vec::new();
    let mut sections = Vec::with_capacity(form.len());
    let mut start = 0;
    for (&kind, &n_bars) in form.iter().zip(&bars) {
        let (chords, per_bar) = match progressions.iter().find(|(k, _, _)| *k == kind) {
            Some((_, c, p)) => (c.clone(), *p),
            None => {
                let per_bar = if meter.steps >= 16 && rng.random_bool(0.3) {
                    2
                } else {
                    1
                };
                let chords = if blues {
                    blues_progression(key)
                } else {
                    progression(rng, key, jazz7)
                };
                progressions.push((kind, chords.clone(), per_bar));
                (chords, per_bar)
            }
        };
        let span = meter.steps / per_bar;
        let spans = (0..n_bars * per_bar)
            .map(|i| ChordSpan {
                start: start + i * span,
                end: start + (i + 1) * span,
                chord: chords[i % chords.len()].clone(),
            })
            .collect();
        sections.push(Section {
            kind,
            start,
            bars: n_bars,
            chords: spans,
        });
        start += n_bars * meter.steps;
    }
    sections
}
