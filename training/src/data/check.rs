//! `instrunet data check DIR`: reads every track of a data folder as training will, and sums up
//! what is there and what is wrong.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use instrunet_model::InstrumentClass;

use crate::data::slakh::{Split, Track, discover};
use crate::data::split::{self, SplitFractions};
use crate::error::DataError;

/// What a data folder holds.
#[derive(Debug, Default)]
pub struct DataSummary {
    /// Tracks read without a problem, by split (the split folder's, or the one drawn from the
    /// track's id; see [`crate::data::split`]).
    pub tracks: BTreeMap<Split, usize>,
    /// Stems with audio, by class.
    pub stems_per_class: BTreeMap<InstrumentClass, usize>,
    /// Tracks with at least one stem of each class.
    pub tracks_per_class: BTreeMap<InstrumentClass, usize>,
    /// Listed stems without an audio file.
    pub missing_stems: usize,
    /// Seconds of mix audio in the good tracks.
    pub seconds: f64,
    /// Sample rates seen, with the number of tracks at each.
    pub sample_rates: BTreeMap<u32, usize>,
    /// Tracks that could not be read, with why (only with `skip_bad`).
    pub problems: Vec<DataError>,
}

impl DataSummary {
    pub fn good_tracks(&self) -> usize {
        self.tracks.values().sum()
    }
}

/// Reads every track under `root`, decoding all audio. With `skip_bad`, a track that cannot be
/// read is counted in [`DataSummary::problems`] and the rest go on; without it, the first problem
/// is returned.
pub fn check(root: &Path, skip_bad: bool) -> Result<DataSummary, DataError> {
    let mut summary = DataSummary::default();
    for dir in discover(root)? {
        let result =
            Track::open(&dir).and_then(|track| track.load_audio().map(|audio| (track, audio)));
        let (track, (mix, _stems)) = match result {
            Ok(ok) => ok,
            Err(e) if skip_bad => {
                summary.problems.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        *summary
            .tracks
            .entry(split::assign(&dir, &SplitFractions::default()))
            .or_default() += 1;
        summary.seconds += mix.seconds();
        *summary.sample_rates.entry(mix.sample_rate).or_default() += 1;
        summary.missing_stems += track.missing_stems.len();
        let mut classes: Vec<InstrumentClass> = track.stems.iter().map(|s| s.class).collect();
        for &c in &classes {
            *summary.stems_per_class.entry(c).or_default() += 1;
        }
        classes.sort();
        classes.dedup();
        for c in classes {
            *summary.tracks_per_class.entry(c).or_default() += 1;
        }
    }
    Ok(summary)
}

impl fmt::Display for DataSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tracks: {} readable, {} with problems",
            self.good_tracks(),
            self.problems.len()
        )?;
        for (split, n) in &self.tracks {
            writeln!(f, "  {split:?}: {n}")?;
        }
        writeln!(f, "audio: {:.2} hours of mix", self.seconds / 3600.0)?;
        let rates: Vec<String> = self
            .sample_rates
            .iter()
            .map(|(r, n)| format!("{r} Hz × {n}"))
            .collect();
        writeln!(f, "sample rates: {}", rates.join(", "))?;
        writeln!(
            f,
            "stems listed without audio (not rendered): {}",
            self.missing_stems
        )?;
        writeln!(f, "{:<22}{:>8}{:>8}", "class", "stems", "tracks")?;
        for c in InstrumentClass::ALL {
            let stems = self.stems_per_class.get(&c).copied().unwrap_or(0);
            let tracks = self.tracks_per_class.get(&c).copied().unwrap_or(0);
            writeln!(f, "{:<22}{stems:>8}{tracks:>8}", c.name())?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "problems ({} tracks skipped):", self.problems.len())?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
        }
        Ok(())
    }
}
