//! The song composer behind `instrunet synth` without `--midi-dir`: multi-instrument songs in a
//! style, tempo, key and meter of their own, built from sections (intro, verse, chorus, bridge,
//! solo, breakdown, outro) over chord progressions, with drum grooves and fills, bass lines,
//! comping (block chords, arpeggios, strums, power chords, stabs), pads, melodies with motifs,
//! counter-melodies and solos, and instruments entering and leaving between sections.
//!
//! Per song it draws a subset of InstruNET's classes and a General MIDI program for each (as Slakh
//! picks one patch per stem); every class is drawn equally often, drums and bass most of the time
//! but not always. A song is a function of its seed alone, and it is written as a Standard MIDI
//! File, which the renderer then treats exactly like any other MIDI file.
//!
//! Time inside the composer is counted in sixteenth notes ("steps"); the MIDI file has 480 ticks
//! per quarter note (120 per step) and one tempo.

use instrunet_model::InstrumentClass;
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::gm::PROGRAM_NAMES;
use crate::render::{StemNotes, push_channel_events};

const TICKS_PER_STEP: f64 = 120.0;

/// The General MIDI drum keys the grooves use.
mod kit {
    pub const KICK: u8 = 36;
    pub const SIDE_STICK: u8 = 37;
    pub const SNARE: u8 = 38;
    pub const CLAP: u8 = 39;
    pub const FLOOR_TOM: u8 = 41;
    pub const CLOSED_HAT: u8 = 42;
    pub const PEDAL_HAT: u8 = 44;
    pub const LOW_TOM: u8 = 45;
    pub const OPEN_HAT: u8 = 46;
    pub const MID_TOM: u8 = 47;
    pub const CRASH: u8 = 49;
    pub const HIGH_TOM: u8 = 50;
    pub const RIDE: u8 = 51;
    pub const TAMBOURINE: u8 = 54;
    pub const COWBELL: u8 = 56;
    pub const HIGH_CONGA: u8 = 63;
    pub const LOW_CONGA: u8 = 64;
    pub const SHAKER: u8 = 70;
    pub const CLAVES: u8 = 75;
}

/// What a part does in the arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Drums,
    Bass,
    /// Chords in a rhythm: block chords, strums, power chords, stabs.
    Comp,
    /// Broken chords.
    Arpeggio,
    /// Held chords.
    Pad,
    /// The tune.
    Melody,
    /// A second line answering the tune, lower and sparser.
    Counter,
    /// Sparse effects: swells and hits at section changes.
    Effects,
}

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
    const ALL: [Style; 14] = [
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

    fn tempo_range(self) -> (f64, f64) {
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

    fn swing(self) -> f64 {
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
    fn new(numerator: u8, denominator: u8) -> Self {
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

    fn beat_len(&self, i: usize) -> usize {
        self.beats.get(i + 1).copied().unwrap_or(self.steps) - self.beats[i]
    }
}

const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 10];
const DORIAN: [u8; 7] = [0, 2, 3, 5, 7, 9, 10];
const MIXOLYDIAN: [u8; 7] = [0, 2, 4, 5, 7, 9, 10];
const HARMONIC_MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 11];
const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// A key: tonic and seven-note scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub mode: &'static str,
    scale: [u8; 7],
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
    fn root(&self) -> u8 {
        self.tones[0]
    }

    fn fifth(&self) -> u8 {
        self.tones.get(2).copied().unwrap_or((self.root() + 7) % 12)
    }

    fn has_pc(&self, pitch: i32) -> bool {
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

/// A chord and the steps it spans, absolute in the song.
#[derive(Debug, Clone)]
struct ChordSpan {
    start: usize,
    end: usize,
    chord: Chord,
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
    fn energy(self) -> f64 {
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
    chords: Vec<ChordSpan>,
}

/// A note in steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepNote {
    pub start: f64,
    pub len: f64,
    pub key: u8,
    pub velocity: u8,
}

/// One instrument of the song.
#[derive(Debug, Clone)]
pub struct Part {
    pub class: InstrumentClass,
    /// General MIDI program, 128 for the drum kit.
    pub program: u32,
    pub role: Role,
    /// MIDI channel, 0-based (9 = drums).
    pub channel: u8,
    /// Whether it plays in each section.
    pub active: Vec<bool>,
    pub notes: Vec<StepNote>,
}

impl Part {
    pub fn is_drum(&self) -> bool {
        self.program == InstrumentClass::DRUM_PROGRAM
    }

    pub fn program_name(&self) -> &'static str {
        if self.is_drum() {
            "Drums"
        } else {
            PROGRAM_NAMES[self.program as usize]
        }
    }
}

/// A composed song.
#[derive(Debug, Clone)]
pub struct Song {
    pub seed: u64,
    pub style: Style,
    pub bpm: f64,
    pub meter: Meter,
    pub key: Key,
    pub sections: Vec<Section>,
    pub parts: Vec<Part>,
    /// Steps in the song.
    pub length: usize,
}

impl Song {
    /// Seconds per step.
    pub fn step_seconds(&self) -> f64 {
        60.0 / self.bpm / 4.0
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{} ({})", p.class, p.program_name()))
            .collect();
        format!(
            "{:?} {}/{} {:.0} bpm {} {}, {} sections, {:.0} s: {}",
            self.style,
            self.meter.numerator,
            self.meter.denominator,
            self.bpm,
            NOTE_NAMES[self.key.tonic as usize],
            self.key.mode,
            self.sections.len(),
            self.length as f64 * self.step_seconds(),
            parts.join(", ")
        )
    }

    /// The song as a Standard MIDI File (format 1: a tempo track, then one track per part on its
    /// own channel, with a program change and the track's name).
    pub fn to_midi(&self) -> Vec<u8> {
        let mut tracks = Vec::with_capacity(self.parts.len() + 1);
        let us_per_quarter = (60e6 / self.bpm).round() as u32;
        tracks.push(vec![
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(us_per_quarter))),
            },
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::TimeSignature(
                    self.meter.numerator,
                    self.meter.denominator.trailing_zeros() as u8,
                    24,
                    8,
                )),
            },
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
            },
        ]);
        let names: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{:?}: {}", p.role, p.program_name()))
            .collect();
        for (part, name) in self.parts.iter().zip(&names) {
            let ch = u4::new(part.channel);
            let mut events: Vec<(u64, MidiMessage)> = Vec::with_capacity(part.notes.len() * 2);
            for n in &part.notes {
                let a = (n.start * TICKS_PER_STEP).round().max(0.0) as u64;
                let b = ((n.start + n.len) * TICKS_PER_STEP)
                    .round()
                    .max(a as f64 + 1.0) as u64;
                events.push((
                    a,
                    MidiMessage::NoteOn {
                        key: u7::new(n.key),
                        vel: u7::new(n.velocity.clamp(1, 127)),
                    },
                ));
                events.push((
                    b,
                    MidiMessage::NoteOff {
                        key: u7::new(n.key),
                        vel: u7::new(0),
                    },
                ));
            }
            let mut track = vec![TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
            }];
            if !part.is_drum() {
                track.push(TrackEvent {
                    delta: u28::new(0),
                    kind: TrackEventKind::Midi {
                        channel: ch,
                        message: MidiMessage::ProgramChange {
                            program: u7::new(part.program as u8),
                        },
                    },
                });
            }
            push_channel_events(&mut track, ch, events);
            tracks.push(track);
        }
        let smf = Smf {
            header: Header::new(Format::Parallel, Timing::Metrical(u15::new(480))),
            tracks,
        };
        let mut bytes = Vec::new();
        smf.write_std(&mut bytes)
            .expect("writing MIDI to memory cannot fail");
        bytes
    }
}

/// Mixes a base seed and an index into a song seed, so that runs with neighbouring seeds do not
/// share songs (seed 1's second song is not seed 2's first).
pub fn song_seed(base: u64, index: u64) -> u64 {
    let mut z = base
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index.wrapping_mul(0xd1b5_4a32_d192_ed03))
        .wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The classes besides drums and bass that a song draws from, equally likely: every class of
/// [`InstrumentClass::ALL`] but those two, in its order.
fn colour_classes() -> Vec<InstrumentClass> {
    InstrumentClass::ALL
        .into_iter()
        .filter(|c| !matches!(c, InstrumentClass::Drums | InstrumentClass::Bass))
        .collect()
}

/// Programs of a class suited to a role, and the roles a class can take.
fn programs_for(class: InstrumentClass, role: Role) -> Vec<u32> {
    use InstrumentClass as C;
    use Role as R;
    match (class, role) {
        (C::Piano, _) => (0..8).collect(),
        (C::ChromaticPercussion, _) => (8..16).collect(),
        (C::Organ, R::Melody) => vec![16, 18, 21, 22, 23],
        (C::Organ, _) => vec![16, 17, 18, 19, 20, 21, 23],
        (C::Guitar, R::Melody) => vec![24, 25, 26, 27, 29, 30],
        (C::Guitar, _) => (24..32).filter(|&p| p != 31).collect(),
        (C::Bass, _) => (32..40).collect(),
        (C::Strings, R::Melody) => vec![40, 41, 42, 44, 52, 53],
        (C::Strings, R::Counter) => vec![41, 42, 43, 47],
        (C::Strings, R::Arpeggio) => vec![45, 46],
        (C::Strings, R::Comp) => vec![45, 48, 49, 50, 55],
        (C::Strings, _) => vec![44, 48, 49, 50, 51, 52, 53, 54],
        (C::Brass, R::Melody) => vec![56, 57, 59, 60, 61, 62, 63],
        (C::Brass, R::Counter) => vec![57, 58, 60],
        (C::Brass, _) => vec![60, 61, 62, 63],
        (C::Reed, R::Melody) => (64..72).collect(),
        (C::Reed, R::Counter) => vec![66, 67, 69, 70, 71],
        (C::Reed, _) => vec![65, 66, 68, 71],
        (C::Pipe, _) => (72..80).collect(),
        (C::SynthLead, _) => (80..88).collect(),
        (C::SynthPad, _) => (88..96).collect(),
        (C::Ethnic, R::Melody) => vec![104, 105, 106, 107, 109, 110, 111],
        (C::Ethnic, R::Pad) => vec![109],
        (C::Ethnic, _) => vec![104, 105, 106, 107, 108],
        (C::SoundEffects, R::Pad) => (96..104).collect(),
        (C::SoundEffects, _) => vec![
            96, 98, 99, 101, 102, 103, 119, 120, 121, 122, 123, 124, 125, 126,
        ],
        (C::Drums, _) => vec![InstrumentClass::DRUM_PROGRAM],
    }
}

fn roles_for(class: InstrumentClass) -> &'static [Role] {
    use InstrumentClass as C;
    use Role as R;
    match class {
        C::Piano => &[R::Comp, R::Comp, R::Arpeggio, R::Melody, R::Pad],
        C::ChromaticPercussion => &[R::Arpeggio, R::Melody, R::Counter, R::Comp],
        C::Organ => &[R::Pad, R::Comp, R::Comp, R::Melody],
        C::Guitar => &[R::Comp, R::Comp, R::Arpeggio, R::Melody, R::Counter],
        C::Strings => &[R::Pad, R::Pad, R::Melody, R::Counter, R::Arpeggio, R::Comp],
        C::Brass => &[R::Melody, R::Melody, R::Comp, R::Pad, R::Counter],
        C::Reed => &[R::Melody, R::Melody, R::Counter, R::Pad],
        C::Pipe => &[R::Melody, R::Melody, R::Counter, R::Pad],
        C::SynthLead => &[R::Melody, R::Melody, R::Arpeggio, R::Counter],
        C::SynthPad => &[R::Pad],
        C::Ethnic => &[R::Melody, R::Arpeggio, R::Counter, R::Comp],
        C::SoundEffects => &[R::Effects, R::Effects, R::Pad],
        C::Bass => &[R::Bass],
        C::Drums => &[R::Drums],
    }
}

/// Playable range of a program (MIDI keys), roughly its real instrument's.
fn program_range(program: u32) -> (i32, i32) {
    match program {
        0..=7 => (36, 96),
        8..=10 => (72, 108),
        11..=13 => (53, 89),
        14 => (60, 77),
        15 => (55, 88),
        16..=20 => (36, 96),
        21 | 23 => (53, 89),
        22 => (60, 84),
        24..=30 => (40, 84),
        31 => (52, 88),
        32..=39 => (28, 55),
        40 => (55, 96),
        41 => (48, 84),
        42 => (36, 76),
        43 => (28, 55),
        44..=45 => (40, 84),
        46 => (36, 96),
        47 => (40, 55),
        48..=55 => (40, 84),
        56 | 59 => (55, 82),
        57 => (40, 72),
        58 => (28, 58),
        60 => (41, 77),
        61..=63 => (43, 79),
        64 => (56, 88),
        65 => (49, 81),
        66 => (44, 76),
        67 => (36, 69),
        68 => (58, 91),
        69 => (52, 81),
        70 => (34, 72),
        71 => (50, 91),
        72 => (74, 103),
        73..=79 => (60, 96),
        80..=87 => (48, 96),
        88..=95 => (40, 84),
        104..=107 => (48, 84),
        108 => (60, 88),
        109 => (55, 81),
        110 => (55, 96),
        111 => (60, 88),
        _ => (48, 84),
    }
}

/// Composes the song of a seed.
pub fn compose(seed: u64) -> Song {
    let mut rng = StdRng::seed_from_u64(seed);
    let style = Style::ALL[rng.random_range(0..Style::ALL.len())];
    let meter = match style {
        Style::Waltz => Meter::new(3, 4),
        Style::Folk | Style::Ballad if rng.random_bool(0.35) => {
            if rng.random_bool(0.5) {
                Meter::new(6, 8)
            } else {
                Meter::new(3, 4)
            }
        }
        Style::Jazz if rng.random_bool(0.15) => Meter::new(5, 4),
        Style::Rock | Style::Metal | Style::Electronic if rng.random_bool(0.08) => Meter::new(7, 8),
        Style::Ballad | Style::Shuffle if rng.random_bool(0.2) => Meter::new(12, 8),
        _ => Meter::new(4, 4),
    };
    let (lo, hi) = style.tempo_range();
    let mut bpm = rng.random_range(lo..hi);
    if meter.denominator == 8 {
        // Eighth-note meters are counted in dotted quarters: the sixteenths go faster.
        bpm *= 1.5;
    }
    let (mode, scale) = match (style, rng.random_range(0..10)) {
        (Style::Funk | Style::Jazz, 0..=3) => ("dorian", DORIAN),
        (Style::Rock | Style::Shuffle | Style::Folk, 0..=2) => ("mixolydian", MIXOLYDIAN),
        (Style::Metal | Style::Latin, 0..=2) => ("harmonic minor", HARMONIC_MINOR),
        (_, 0..=4) => ("major", MAJOR),
        _ => ("minor", MINOR),
    };
    let key = Key {
        tonic: rng.random_range(0..12),
        mode,
        scale,
    };
    let sections = plan_sections(&mut rng, style, &meter, &key, bpm);
    let length = sections
        .last()
        .map_or(0, |s| s.start + s.bars * meter.steps);
    let mut song = Song {
        seed,
        style,
        bpm,
        meter,
        key,
        sections,
        parts: Vec::new(),
        length,
    };
    song.parts = pick_parts(&mut rng, &song);
    let mut parts = std::mem::take(&mut song.parts);
    for part in &mut parts {
        part.active = plan_activity(&mut rng, &song, part.role);
        part.notes = play_part(&mut rng, &song, part);
    }
    // A part the plan left silent everywhere would label nothing: drop it.
    parts.retain(|p| !p.notes.is_empty());
    song.parts = parts;
    song
}

fn plan_sections(
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

fn blues_progression(key: &Key) -> Vec<Chord> {
    let (i, iv, v) = (key.tonic, (key.tonic + 5) % 12, (key.tonic + 7) % 12);
    [i, i, i, i, iv, iv, i, i, v, iv, i, v]
        .iter()
        .map(|&r| Chord::dominant(r))
        .collect()
}

fn progression(rng: &mut StdRng, key: &Key, sevenths: bool) -> Vec<Chord> {
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

fn pick_parts(rng: &mut StdRng, song: &Song) -> Vec<Part> {
    let mut classes = Vec::new();
    let ambient = song.style == Style::Ambient;
    if !ambient && rng.random_bool(0.78) {
        classes.push((InstrumentClass::Drums, Role::Drums));
    }
    if rng.random_bool(if ambient { 0.4 } else { 0.8 }) {
        classes.push((InstrumentClass::Bass, Role::Bass));
    }
    let n_colour = rng.random_range(2..=6usize);
    let mut pool = colour_classes();
    let mut roles_taken: Vec<Role> = Vec::new();
    for _ in 0..n_colour {
        let class = pool.swap_remove(rng.random_range(0..pool.len()));
        let options = roles_for(class);
        // Prefer a role the song still lacks: one tune and some harmony before doubling up.
        let lacking: Vec<Role> = options
            .iter()
            .copied()
            .filter(|r| !roles_taken.contains(r))
            .collect();
        let role = if !lacking.is_empty() && rng.random_bool(0.7) {
            lacking[rng.random_range(0..lacking.len())]
        } else {
            options[rng.random_range(0..options.len())]
        };
        roles_taken.push(role);
        classes.push((class, role));
        // Now and then a second instrument of the same class (two guitars, piano and e-piano).
        if rng.random_bool(0.12) {
            let role = options[rng.random_range(0..options.len())];
            classes.push((class, role));
        }
    }
    let mut channel = 0u8;
    classes
        .into_iter()
        .map(|(class, role)| {
            let programs = programs_for(class, role);
            let program = programs[rng.random_range(0..programs.len())];
            let ch = if role == Role::Drums {
                9
            } else {
                let c = channel;
                channel += if channel == 8 { 2 } else { 1 };
                c
            };
            Part {
                class,
                program,
                role,
                channel: ch.min(15),
                active: Vec::new(),
                notes: Vec::new(),
            }
        })
        .collect()
}

/// Which sections a part plays in: core parts nearly everywhere, others by the section's energy,
/// so that instruments enter and leave; every part plays somewhere.
fn plan_activity(rng: &mut StdRng, song: &Song, role: Role) -> Vec<bool> {
    use SectionKind as K;
    let mut active: Vec<bool> = song
        .sections
        .iter()
        .map(|s| {
            let p = match (role, s.kind) {
                (Role::Drums, K::Intro) => 0.5,
                (Role::Drums | Role::Bass, K::Breakdown) => 0.15,
                (Role::Drums | Role::Bass, _) => 0.95,
                (Role::Melody, K::Intro | K::Outro) => 0.3,
                (Role::Melody, K::Solo) => 0.9,
                (Role::Melody, _) => 0.85,
                (Role::Counter, K::Chorus | K::Solo) => 0.7,
                (Role::Counter, _) => 0.35,
                (Role::Pad, K::Breakdown | K::Intro | K::Outro) => 0.8,
                (Role::Pad, _) => 0.55,
                (Role::Effects, K::Intro | K::Breakdown | K::Outro) => 0.7,
                (Role::Effects, _) => 0.3,
                (_, _) => 0.3 + 0.6 * s.kind.energy(),
            };
            rng.random_bool(p)
        })
        .collect();
    if !active.iter().any(|&a| a) {
        let i = rng.random_range(0..active.len());
        active[i] = true;
    }
    active
}

fn humanize(rng: &mut StdRng, velocity: f64) -> u8 {
    (velocity + rng.random_range(-8.0..8.0))
        .round()
        .clamp(1.0, 127.0) as u8
}

/// Moves a pitch by octaves into `range`.
fn fit(mut pitch: i32, (lo, hi): (i32, i32)) -> i32 {
    while pitch < lo {
        pitch += 12;
    }
    while pitch > hi {
        pitch -= 12;
    }
    pitch.max(lo)
}

/// A voicing of `n` chord tones near `center`, the one moving least from `previous`.
fn voicing(chord: &Chord, center: i32, n: usize, previous: &[i32], range: (i32, i32)) -> Vec<i32> {
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

fn play_part(rng: &mut StdRng, song: &Song, part: &Part) -> Vec<StepNote> {
    let mut notes = Vec::new();
    let range = program_range(part.program);
    // Register within the range: comping and pads mid, melodies upper-middle.
    let center = match part.role {
        Role::Bass => range.0 + 8,
        Role::Melody => (range.0 + 2 * range.1) / 3 - 2,
        Role::Counter => (2 * range.0 + range.1) / 3,
        _ => (range.0 + range.1) / 2,
    };
    let level = rng.random_range(70.0..105.0);
    let comp_style = rng.random_range(0..6);
    let bass_style = rng.random_range(0..7);
    let arp_style = rng.random_range(0..4);
    let melody_density = rng.random_range(0..3);
    let groove = rng.random_range(0..3);
    let mut state = PartState::default();
    for (si, section) in song.sections.iter().enumerate() {
        if !part.active[si] {
            state.previous.clear();
            continue;
        }
        let vel = level * (0.7 + 0.3 * section.kind.energy());
        // Now and then a part comes in a bar or two late.
        let late_bars = if part.role != Role::Drums && section.bars >= 4 && rng.random_bool(0.15) {
            rng.random_range(1..=section.bars / 2)
        } else {
            0
        };
        let from = section.start + late_bars * song.meter.steps;
        let before = notes.len();
        match part.role {
            Role::Drums => drums(rng, song, section, groove, vel, &mut notes),
            Role::Bass => bass(rng, song, section, bass_style, vel, range, &mut notes),
            Role::Comp => comp(
                rng,
                song,
                section,
                part.program,
                comp_style,
                vel,
                center,
                range,
                &mut state,
                &mut notes,
            ),
            Role::Arpeggio => arpeggio(
                rng, song, section, arp_style, vel, center, range, &mut notes,
            ),
            Role::Pad => pad(
                rng,
                song,
                section,
                vel * 0.85,
                center,
                range,
                &mut state,
                &mut notes,
            ),
            Role::Melody | Role::Counter => {
                let density = if section.kind == SectionKind::Solo && part.role == Role::Melody {
                    2
                } else if part.role == Role::Counter {
                    0
                } else {
                    melody_density
                };
                melody(
                    rng, song, section, density, vel, center, range, &mut state, &mut notes,
                )
            }
            Role::Effects => effects(rng, song, section, part.program, vel, center, &mut notes),
        }
        let from = from as f64;
        let mut kept = notes.split_off(before);
        kept.retain(|n| n.start >= from);
        notes.extend(kept);
    }
    notes
}

#[derive(Default)]
struct PartState {
    previous: Vec<i32>,
    melody_pitch: Option<i32>,
    motif: Vec<(usize, usize, i32)>,
}

fn swung(song: &Song, step: f64) -> f64 {
    let swing = song.style.swing();
    // Swing delays the off-beat eighth (steps 2, 6, 10, … within each quarter).
    if swing > 0.0 && (step.rem_euclid(4.0) - 2.0).abs() < 1e-9 {
        step + swing * 2.0
    } else {
        step
    }
}

fn drums(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    groove: usize,
    vel: f64,
    out: &mut Vec<StepNote>,
) {
    use kit::*;
    let m = &song.meter;
    let hit = |out: &mut Vec<StepNote>, rng: &mut StdRng, step: f64, key: u8, v: f64| {
        out.push(StepNote {
            start: swung(song, step),
            len: 1.0,
            key,
            velocity: humanize(rng, v),
        });
    };
    let chorus = matches!(section.kind, SectionKind::Chorus | SectionKind::Solo);
    let quiet = matches!(section.kind, SectionKind::Intro | SectionKind::Breakdown);
    let cymbal = if chorus && rng.random_bool(0.5) {
        RIDE
    } else {
        CLOSED_HAT
    };
    let fill = rng.random_bool(0.6);
    for bar in 0..section.bars {
        let b0 = (section.start + bar * m.steps) as f64;
        let last_bar = bar + 1 == section.bars;
        let fill_from = if last_bar && fill {
            m.beats[m
                .beats
                .len()
                .saturating_sub(if rng.random_bool(0.5) { 1 } else { 2 })
                .max(1)]
        } else {
            m.steps
        };
        if bar == 0 && section.start > 0 && rng.random_bool(0.8) {
            hit(out, rng, b0, CRASH, vel + 10.0);
        }
        let four = m.steps == 16;
        for s in 0..fill_from {
            let st = b0 + s as f64;
            let beat_idx = m.beats.iter().position(|&b| b == s);
            let on_beat = beat_idx.is_some();
            let eighth = s % 2 == 0;
            match song.style {
                Style::Disco | Style::Electronic if four => {
                    if s % 4 == 0 {
                        hit(out, rng, st, KICK, vel + 10.0);
                    }
                    if s == 4 || s == 12 {
                        hit(
                            out,
                            rng,
                            st,
                            if song.style == Style::Electronic {
                                CLAP
                            } else {
                                SNARE
                            },
                            vel + 5.0,
                        );
                    }
                    if s % 4 == 2 {
                        hit(out, rng, st, OPEN_HAT, vel - 10.0);
                    } else if !quiet {
                        hit(out, rng, st, CLOSED_HAT, vel - 25.0);
                    }
                }
                Style::Funk if four => {
                    const KICKS: [[usize; 4]; 3] = [[0, 3, 10, 99], [0, 6, 10, 14], [0, 7, 11, 99]];
                    if KICKS[groove].contains(&s) {
                        hit(out, rng, st, KICK, vel + 5.0);
                    }
                    if s == 4 || s == 12 {
                        hit(out, rng, st, SNARE, vel + 10.0);
                    } else if s % 2 == 1 && rng.random_bool(0.25) {
                        hit(out, rng, st, SNARE, 35.0);
                    }
                    hit(
                        out,
                        rng,
                        st,
                        cymbal,
                        if eighth { vel - 10.0 } else { vel - 30.0 },
                    );
                }
                Style::Jazz => {
                    // Ride "ding, ding-a ding", pedal hat on 2 and 4, sparse comping.
                    let beat = s / 4;
                    if s % 4 == 0 || (s % 4 == 2 && beat % 2 == 1) {
                        hit(out, rng, st, RIDE, vel - 5.0);
                    }
                    if s % 4 == 0 && beat % 2 == 1 {
                        hit(out, rng, st, PEDAL_HAT, vel - 15.0);
                    }
                    if s % 2 == 0 && rng.random_bool(0.08) {
                        let key = if rng.random_bool(0.5) { SNARE } else { KICK };
                        hit(out, rng, st, key, vel - 20.0);
                    }
                }
                Style::Latin if four => {
                    const CLAVE: [usize; 5] = [0, 3, 6, 10, 12];
                    if CLAVE.contains(&s) {
                        hit(
                            out,
                            rng,
                            st,
                            if groove == 0 { CLAVES } else { SIDE_STICK },
                            vel,
                        );
                    }
                    if s == 0 || s == 6 || s == 8 || s == 14 {
                        hit(out, rng, st, KICK, vel - 5.0);
                    }
                    if s % 4 == 2 {
                        hit(
                            out,
                            rng,
                            st,
                            if s % 8 == 2 { HIGH_CONGA } else { LOW_CONGA },
                            vel - 5.0,
                        );
                    }
                    hit(
                        out,
                        rng,
                        st,
                        SHAKER,
                        if eighth { vel - 20.0 } else { vel - 35.0 },
                    );
                    if groove == 2 && s % 4 == 0 {
                        hit(out, rng, st, COWBELL, vel - 15.0);
                    }
                }
                Style::Reggae if four => {
                    // One drop: kick and snare together on beat three.
                    if s == 8 {
                        hit(out, rng, st, KICK, vel);
                        hit(out, rng, st, SIDE_STICK, vel);
                    }
                    if eighth {
                        hit(out, rng, st, CLOSED_HAT, vel - 20.0);
                    }
                }
                Style::Metal => {
                    if eighth || (groove == 0 && !quiet) {
                        hit(out, rng, st, KICK, vel);
                    }
                    if beat_idx.is_some_and(|b| b % 2 == 1) {
                        hit(out, rng, st, SNARE, vel + 15.0);
                    }
                    if on_beat {
                        hit(out, rng, st, if chorus { CRASH } else { RIDE }, vel - 10.0);
                    }
                }
                _ => {
                    // Backbeat grooves for any meter: kick on the first beat and some others,
                    // snare on the off beats (or beat three, half time), hats in eighths.
                    let half_time = song.style == Style::Ballad || groove == 2;
                    match beat_idx {
                        Some(0) => hit(out, rng, st, KICK, vel + 5.0),
                        Some(b) if m.beats.len() >= 4 => {
                            let snare = if half_time {
                                b == m.beats.len() / 2
                            } else {
                                b % 2 == 1
                            };
                            if snare {
                                hit(
                                    out,
                                    rng,
                                    st,
                                    if quiet { SIDE_STICK } else { SNARE },
                                    vel + 8.0,
                                );
                            } else if !half_time || rng.random_bool(0.3) {
                                hit(out, rng, st, KICK, vel);
                            }
                        }
                        Some(_) => {
                            // Two- and three-beat bars: snare on the last felt beat.
                            hit(
                                out,
                                rng,
                                st,
                                if quiet { SIDE_STICK } else { SNARE },
                                vel + 5.0,
                            );
                        }
                        None => {
                            if s % 2 == 0 && rng.random_bool(if groove == 1 { 0.25 } else { 0.1 }) {
                                hit(out, rng, st, KICK, vel - 10.0);
                            }
                        }
                    }
                    let hats = if song.style == Style::Pop && groove == 1 {
                        true
                    } else {
                        eighth
                    };
                    if hats {
                        hit(
                            out,
                            rng,
                            st,
                            cymbal,
                            if on_beat { vel - 8.0 } else { vel - 22.0 },
                        );
                    }
                    if song.style == Style::Folk
                        && groove == 0
                        && beat_idx.is_some_and(|b| b % 2 == 1)
                    {
                        hit(out, rng, st, TAMBOURINE, vel - 15.0);
                    }
                }
            }
        }
        // The fill: sixteenths or eighths down the toms, ending with a snare flam.
        if fill_from < m.steps {
            let toms = [HIGH_TOM, MID_TOM, LOW_TOM, FLOOR_TOM];
            let stride = if rng.random_bool(0.6) { 1 } else { 2 };
            let n = (m.steps - fill_from).div_ceil(stride);
            for i in 0..n {
                let s = fill_from + i * stride;
                let key = if rng.random_bool(0.35) {
                    SNARE
                } else {
                    toms[i * toms.len() / n.max(1)]
                };
                hit(
                    out,
                    rng,
                    b0 + s as f64,
                    key,
                    vel + 5.0 + 10.0 * i as f64 / n as f64,
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn bass(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    style: usize,
    vel: f64,
    range: (i32, i32),
    out: &mut Vec<StepNote>,
) {
    let style = match song.style {
        Style::Jazz => 6,
        Style::Funk if rng.random_bool(0.7) => 5,
        Style::Disco | Style::Electronic if rng.random_bool(0.6) => 4,
        Style::Ambient | Style::Ballad if rng.random_bool(0.6) => 0,
        _ => style,
    };
    let low = range.0.max(28);
    let pitch = |pc: u8| fit(low + (pc as i32 - low).rem_euclid(12), (low, low + 14));
    let n_spans = section.chords.len();
    for (ci, span) in section.chords.iter().enumerate() {
        let root = pitch(span.chord.root());
        let fifth = pitch(span.chord.fifth());
        let fifth = if fifth < root { fifth + 12 } else { fifth };
        let len = span.end - span.start;
        let play =
            |out: &mut Vec<StepNote>, rng: &mut StdRng, s: usize, l: f64, key: i32, v: f64| {
                if s < len {
                    out.push(StepNote {
                        start: swung(song, (span.start + s) as f64),
                        len: l.min((len - s) as f64),
                        key: key.clamp(0, 127) as u8,
                        velocity: humanize(rng, v),
                    });
                }
            };
        match style {
            0 => play(out, rng, 0, len as f64 * 0.95, root, vel),
            1 => {
                // Root and fifth on the felt beats.
                let offset = (span.start - section.start) % song.meter.steps;
                for (i, &b) in song.meter.beats.iter().enumerate() {
                    if b >= offset && b < offset + len {
                        let key = if i % 2 == 0 { root } else { fifth };
                        play(
                            out,
                            rng,
                            b - offset,
                            song.meter.beat_len(i) as f64 * 0.8,
                            key,
                            vel,
                        );
                    }
                }
            }
            2 | 4 => {
                // Driving eighths; style 4 jumps octaves (disco).
                for (i, s) in (0..len).step_by(2).enumerate() {
                    let key = if style == 4 && i % 2 == 1 {
                        root + 12
                    } else {
                        root
                    };
                    play(
                        out,
                        rng,
                        s,
                        1.6,
                        key,
                        if s % 4 == 0 { vel } else { vel - 12.0 },
                    );
                }
            }
            3 => {
                // Arpeggiated: root, third, fifth, octave.
                let third = pitch(span.chord.tones[1]);
                let third = if third < root { third + 12 } else { third };
                for (i, s) in (0..len).step_by(4).enumerate() {
                    let key = [root, third, fifth, root + 12][i % 4];
                    play(out, rng, s, 3.5, key, vel);
                }
            }
            5 => {
                // Syncopated sixteenths with octave pops and ghost notes.
                const PATTERN: [(usize, i32, f64); 6] = [
                    (0, 0, 1.5),
                    (3, 0, 0.8),
                    (6, 12, 0.8),
                    (7, 0, 1.0),
                    (10, 7, 1.5),
                    (14, 12, 0.8),
                ];
                for &(s, off, l) in &PATTERN {
                    let key = if off == 7 { fifth } else { root + off };
                    play(
                        out,
                        rng,
                        s,
                        l,
                        key,
                        if s == 0 { vel + 5.0 } else { vel - 10.0 },
                    );
                }
            }
            _ => {
                // Walking quarters: root, chord tones, and a chromatic approach to the next root.
                let next_root = section
                    .chords
                    .get(ci + 1)
                    .map_or(root, |c| pitch(c.chord.root()));
                let third = pitch(span.chord.tones[1]);
                let beats: Vec<usize> = (0..len).step_by(4).collect();
                for (i, &s) in beats.iter().enumerate() {
                    let key = if i == 0 {
                        root
                    } else if i + 1 == beats.len() && ci + 1 < n_spans {
                        next_root + if rng.random_bool(0.5) { 1 } else { -1 }
                    } else {
                        [third, fifth, root + 12, fifth - 12 + 12][rng.random_range(0..4)]
                    };
                    play(
                        out,
                        rng,
                        s,
                        3.6,
                        fit(key, (low, low + 19)),
                        vel - if i == 0 { 0.0 } else { 8.0 },
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn comp(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    program: u32,
    style: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let guitar = (24..32).contains(&program);
    let distorted = program == 29 || program == 30;
    let m = &song.meter;
    // Rhythm patterns within a bar (steps), one per comping style.
    let pattern: Vec<usize> = match (song.style, style) {
        (Style::Reggae, _) | (_, 0) if m.steps == 16 => vec![4, 12],
        (_, 1) => m.beats.clone(),
        (_, 2) if m.steps == 16 => vec![0, 3, 6, 10, 12],
        (_, 3) => (0..m.steps).step_by(2).collect(),
        (_, 4) if m.steps == 16 => vec![2, 6, 10, 14],
        _ => vec![0],
    };
    let staccato = matches!(song.style, Style::Reggae | Style::Funk | Style::Disco) || style == 4;
    for span in &section.chords {
        let bar_start = span.start - (span.start - section.start) % m.steps;
        let n_voices = if distorted {
            3
        } else {
            rng.random_range(3..=4)
        };
        let notes: Vec<i32> = if distorted {
            // Power chord: root, fifth, octave.
            let r = fit(
                center - 12 + (span.chord.root() as i32 - center).rem_euclid(12),
                range,
            );
            vec![r, r + 7, r + 12]
        } else {
            voicing(&span.chord, center, n_voices, &state.previous, range)
        };
        if notes.is_empty() {
            continue;
        }
        state.previous = notes.clone();
        let onsets: Vec<usize> = pattern
            .iter()
            .map(|&s| bar_start + s)
            .filter(|&s| s >= span.start && s < span.end)
            .collect();
        let onsets = if onsets.is_empty() {
            vec![span.start]
        } else {
            onsets
        };
        for (i, &on) in onsets.iter().enumerate() {
            let next = onsets.get(i + 1).copied().unwrap_or(span.end);
            let len = if staccato {
                1.0
            } else {
                (next - on) as f64 * 0.9
            };
            let accent = if m.beats.contains(&((on - bar_start) % m.steps)) {
                6.0
            } else {
                -4.0
            };
            for (j, &p) in notes.iter().enumerate() {
                // Guitars strum: the strings sound a few milliseconds apart, down or up.
                let spread = if guitar { 0.06 * j as f64 } else { 0.0 };
                out.push(StepNote {
                    start: swung(song, on as f64) + spread,
                    len: (len - spread).max(0.3),
                    key: p.clamp(0, 127) as u8,
                    velocity: humanize(rng, vel + accent - 6.0),
                });
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn arpeggio(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    style: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    out: &mut Vec<StepNote>,
) {
    let step = if style == 3 || song.bpm > 140.0 {
        2
    } else {
        1 + (style % 2)
    };
    for span in &section.chords {
        let mut notes = voicing(&span.chord, center, 4, &[], range);
        if notes.is_empty() {
            continue;
        }
        notes.sort();
        // Up, up-down, or broken (1-3-2-4) orders.
        let order: Vec<usize> = match style {
            0 => (0..notes.len()).collect(),
            1 => (0..notes.len()).chain((1..notes.len() - 1).rev()).collect(),
            _ => vec![0, 2, 1, 3]
                .into_iter()
                .filter(|&i| i < notes.len())
                .collect(),
        };
        for (i, s) in (span.start..span.end).step_by(step).enumerate() {
            let key = notes[order[i % order.len()]];
            out.push(StepNote {
                start: swung(song, s as f64),
                len: step as f64 * 0.9,
                key: key.clamp(0, 127) as u8,
                velocity: humanize(rng, vel - if i % order.len() == 0 { 0.0 } else { 10.0 }),
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pad(
    rng: &mut StdRng,
    _song: &Song,
    section: &Section,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let mut i = 0;
    while i < section.chords.len() {
        // Held through repeated chords.
        let mut j = i + 1;
        while j < section.chords.len() && section.chords[j].chord == section.chords[i].chord {
            j += 1;
        }
        let span = &section.chords[i];
        let notes = voicing(&span.chord, center, 3, &state.previous, range);
        state.previous = notes.clone();
        let len = (section.chords[j - 1].end - span.start) as f64;
        for &p in &notes {
            out.push(StepNote {
                start: span.start as f64,
                len: len * 0.98,
                key: p.clamp(0, 127) as u8,
                velocity: humanize(rng, vel),
            });
        }
        i = j;
    }
}

/// Rhythm cells (onset, length in steps) filling one beat of four steps, by density.
const CELLS: [&[&[(usize, usize)]]; 3] = [
    &[&[(0, 4)], &[(0, 8)], &[(0, 6)], &[], &[(0, 3)]],
    &[
        &[(0, 2), (2, 2)],
        &[(0, 4)],
        &[(0, 3), (3, 1)],
        &[(2, 2)],
        &[(0, 2)],
        &[(0, 6)],
    ],
    &[
        &[(0, 1), (1, 1), (2, 1), (3, 1)],
        &[(0, 2), (2, 1), (3, 1)],
        &[(0, 1), (1, 1), (2, 2)],
        &[(0, 2), (2, 2)],
        &[(1, 1), (2, 2)],
    ],
];

#[allow(clippy::too_many_arguments)]
fn melody(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    density: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let m = &song.meter;
    let phrase_bars = if section.bars >= 4 { 2 } else { 1 };
    let phrase_steps = phrase_bars * m.steps;
    let legato = rng.random_range(0.55..1.0);
    let mut pitch = state.melody_pitch.unwrap_or(center);
    // A motif (onset, length, scale steps from its first note), reused with variation.
    if state.motif.is_empty() || rng.random_bool(0.3) {
        state.motif = make_motif(rng, phrase_steps, density);
    }
    let end = section.start + section.bars * m.steps;
    let mut phrase_start = section.start;
    let mut phrase = 0;
    while phrase_start < end {
        let motif = if phrase % 4 == 2 {
            make_motif(rng, phrase_steps, density) // a contrasting phrase
        } else {
            state.motif.clone()
        };
        let mut rest_after = 0;
        // Answer phrases are shorter, leaving room to breathe (and for a counter-melody).
        if phrase % 2 == 1 {
            rest_after = m.steps / 2;
        }
        for &(on, len, step) in &motif {
            let s = phrase_start + on;
            if s >= end || on + len > phrase_steps - rest_after.min(phrase_steps - on - 1) {
                continue;
            }
            let chord = section
                .chords
                .iter()
                .find(|c| c.start <= s && s < c.end)
                .map(|c| &c.chord);
            let mut target = move_in_scale(&song.key, pitch, step);
            let strong = m.beats.contains(&(on % m.steps));
            if strong && let Some(chord) = chord {
                // On strong beats, land on the nearest chord tone.
                target = (0..7)
                    .flat_map(|d| [target - d, target + d])
                    .find(|&p| chord.has_pc(p))
                    .unwrap_or(target);
            }
            // Keep to the register: reflect off its edges.
            let (lo, hi) = (range.0.max(center - 12), range.1.min(center + 12));
            if target > hi {
                target -= 12;
            }
            if target < lo {
                target += 12;
            }
            pitch = target;
            out.push(StepNote {
                start: swung(song, s as f64),
                len: (len as f64 * legato).max(0.5),
                key: target.clamp(0, 127) as u8,
                velocity: humanize(rng, vel + if strong { 6.0 } else { -4.0 }),
            });
        }
        phrase_start += phrase_steps;
        phrase += 1;
    }
    state.melody_pitch = Some(pitch);
}

fn make_motif(rng: &mut StdRng, steps: usize, density: usize) -> Vec<(usize, usize, i32)> {
    let mut out = Vec::new();
    let mut s = 0;
    while s < steps {
        let cell = CELLS[density][rng.random_range(0..CELLS[density].len())];
        let mut cell_len = 4;
        for &(on, len) in cell.iter() {
            if s + on < steps {
                let step = match rng.random_range(0..10) {
                    0..=2 => 1,
                    3..=5 => -1,
                    6 => 2,
                    7 => -2,
                    8 => rng.random_range(3..=5),
                    _ => 0,
                };
                out.push((s + on, len.min(steps - s - on), step));
            }
            cell_len = cell_len.max(on + len);
        }
        s += cell_len.div_ceil(4) * 4;
    }
    out
}

/// Moves `pitch` by `steps` scale steps (snapping to the scale first).
fn move_in_scale(key: &Key, pitch: i32, steps: i32) -> i32 {
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

fn effects(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    program: u32,
    vel: f64,
    center: i32,
    out: &mut Vec<StepNote>,
) {
    let bar = song.meter.steps;
    // Sustained atmospheres for the pad-like effects, sparse events for the noises.
    let sustained =
        (96..104).contains(&program) || program == 122 || program == 125 || program == 126;
    let root = fit(
        center - 12 + (section.chords[0].chord.root() as i32 - center).rem_euclid(12),
        (36, 84),
    );
    let mut b = 0;
    while b < section.bars {
        let len_bars = if sustained {
            rng.random_range(1..=4).min(section.bars - b)
        } else {
            1
        };
        if rng.random_bool(if sustained { 0.8 } else { 0.5 }) {
            let start = section.start
                + b * bar
                + if sustained {
                    0
                } else {
                    rng.random_range(0..bar)
                };
            out.push(StepNote {
                start: start as f64,
                len: if sustained {
                    (len_bars * bar) as f64 * 0.95
                } else {
                    rng.random_range(2.0..8.0)
                },
                key: (root + [0, 7, 12][rng.random_range(0..3)]).clamp(0, 127) as u8,
                velocity: humanize(rng, vel),
            });
        }
        b += len_bars;
    }
}

/// Arranges the instruments of an existing piece (a score corpus's chorale, quartet or folk tune)
/// onto General MIDI programs with the composer's instrument picker: the lowest part goes to a
/// bass now and then, the highest carries the tune, the others take harmony roles; each part is
/// moved by octaves into its new instrument's range. Drum stems stay as they are.
pub fn arrange(stems: &[StemNotes], seed: u64) -> Vec<StemNotes> {
    let mut rng = StdRng::seed_from_u64(seed);
    let median = |s: &StemNotes| {
        let mut keys: Vec<u8> = s.notes.iter().map(|n| n.key).collect();
        keys.sort();
        keys.get(keys.len() / 2).copied().unwrap_or(60) as i32
    };
    let mut order: Vec<usize> = (0..stems.len()).filter(|&i| !stems[i].is_drum).collect();
    order.sort_by_key(|&i| median(&stems[i]));
    let mut pool = colour_classes();
    let mut out: Vec<StemNotes> = stems.iter().filter(|s| s.is_drum).cloned().collect();
    for (rank, &i) in order.iter().enumerate() {
        let top = rank + 1 == order.len();
        let (class, role) = if rank == 0 && order.len() > 1 && rng.random_bool(0.5) {
            (InstrumentClass::Bass, Role::Bass)
        } else {
            if pool.is_empty() {
                pool = colour_classes();
            }
            let class = pool.swap_remove(rng.random_range(0..pool.len()));
            let roles = roles_for(class);
            let wanted = if top { Role::Melody } else { Role::Counter };
            let role = if roles.contains(&wanted) && rng.random_bool(0.7) {
                wanted
            } else {
                roles[rng.random_range(0..roles.len())]
            };
            (class, role)
        };
        let programs = programs_for(class, role);
        let program = programs[rng.random_range(0..programs.len())];
        let (lo, hi) = program_range(program);
        let m = median(&stems[i]);
        let shift = (((lo + hi) / 2 - m) as f64 / 12.0).round() as i32 * 12;
        let mut stem = stems[i].clone();
        stem.program = program;
        for n in &mut stem.notes {
            n.key = (n.key as i32 + shift).clamp(0, 127) as u8;
        }
        out.push(stem);
    }
    out.sort_by_key(|s| s.channel);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::stems_from_midi;

    #[test]
    fn same_seed_same_song_and_different_seeds_differ() {
        let a = compose(7).to_midi();
        assert_eq!(a, compose(7).to_midi());
        assert_ne!(a, compose(8).to_midi());
        assert_ne!(song_seed(1, 1), song_seed(2, 0));
    }

    #[test]
    fn songs_parse_back_into_one_stem_per_part_with_their_notes() {
        for seed in 0..40 {
            let song = compose(seed);
            let stems = stems_from_midi(&song.to_midi()).unwrap();
            assert_eq!(
                stems.len(),
                song.parts.len(),
                "seed {seed}: {}",
                song.describe()
            );
            for part in &song.parts {
                let stem = stems.iter().find(|s| s.channel == part.channel).unwrap();
                assert_eq!(stem.is_drum, part.is_drum());
                assert_eq!(stem.program, part.program);
                assert_eq!(
                    stem.notes.len(),
                    part.notes.len(),
                    "seed {seed} {:?}",
                    part.role
                );
            }
            let seconds = song.length as f64 * song.step_seconds();
            assert!((20.0..130.0).contains(&seconds), "seed {seed}: {seconds} s");
        }
    }

    #[test]
    fn every_class_and_role_turns_up_and_drums_and_bass_are_sometimes_absent() {
        let mut classes = std::collections::BTreeMap::<InstrumentClass, usize>::new();
        let (mut no_drums, mut no_bass, mut styles) = (0, 0, std::collections::BTreeSet::new());
        let n = 300;
        for seed in 0..n {
            let song = compose(song_seed(99, seed));
            styles.insert(format!("{:?}", song.style));
            let mut in_song: Vec<InstrumentClass> = song.parts.iter().map(|p| p.class).collect();
            in_song.dedup();
            in_song.sort();
            in_song.dedup();
            for c in in_song {
                *classes.entry(c).or_default() += 1;
            }
            no_drums += !song.parts.iter().any(|p| p.role == Role::Drums) as usize;
            no_bass += !song.parts.iter().any(|p| p.role == Role::Bass) as usize;
            for p in &song.parts {
                let (lo, hi) = program_range(p.program);
                if !p.is_drum() && p.role != Role::Effects {
                    for n in &p.notes {
                        assert!(
                            (lo - 12..=hi + 12).contains(&(n.key as i32)),
                            "{} key {} outside {lo}-{hi}",
                            p.program_name(),
                            n.key
                        );
                    }
                }
            }
        }
        assert_eq!(classes.len(), 14, "{classes:?}");
        for (c, k) in &classes {
            assert!(*k >= n as usize / 8, "{c} in only {k} of {n} songs");
        }
        assert!(
            no_drums > 10 && no_bass > 10,
            "{no_drums} drum-free, {no_bass} bass-free"
        );
        assert_eq!(styles.len(), Style::ALL.len());
    }

    #[test]
    fn parts_enter_and_leave() {
        let (mut partial, mut total) = (0, 0);
        for seed in 0..50 {
            let song = compose(seed);
            for p in &song.parts {
                total += 1;
                partial += p.active.iter().any(|a| !a) as usize;
            }
        }
        assert!(
            partial * 3 > total,
            "{partial} of {total} parts pause somewhere"
        );
    }
}
