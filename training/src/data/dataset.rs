//! A data root's labelled windows in memory, split by song into train / validation / test.
//!
//! Tracks are read through the window cache ([`crate::data::cache`]), two at a time, and each lands in
//! the split of its song ([`crate::data::split::assign_song`]): the source MIDI file for rendered tracks
//! (`lmd_midi_dir` in metadata.yaml), so that several renderings of one piece never straddle
//! splits.

use std::path::Path;
use std::sync::Mutex;

use half::f16;
use half::slice::HalfFloatSliceExt;
use instrunet_model::ModelSpec;

use crate::data::cache::{CacheStatus, WindowCache};
use crate::data::slakh::{Split, Track, TrackDir, discover};
use crate::data::split::{SplitFractions, assign_song};
use crate::data::windows::WindowSettings;
use crate::error::DataError;

/// Windows and labels of one split, back to back.
#[derive(Debug, Default, Clone)]
pub struct WindowSet {
    /// `len() × window_len` raw log-Mel dB values, in half precision: a window costs 32 KB
    /// instead of 64, so twice the songs fit in memory. Steps of at most 0.06 dB at the
    /// loudest values (±65 504 range), far below what augmentation changes.
    pub windows: Vec<f16>,
    /// `len() × n_classes`, 1.0 for present.
    pub labels: Vec<f32>,
    /// Index into [`WindowSet::tracks`] of each window.
    pub track_of: Vec<u32>,
    /// Track ids, in the order their windows were added.
    pub tracks: Vec<String>,
    /// The song of each track.
    pub track_songs: Vec<String>,
    /// Distinct songs among the tracks, in order of first appearance.
    pub songs: Vec<String>,
    pub window_len: usize,
    pub n_classes: usize,
}

impl WindowSet {
    pub fn new(window_len: usize, n_classes: usize) -> Self {
        Self {
            window_len,
            n_classes,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.track_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.track_of.is_empty()
    }

    pub fn window(&self, i: usize) -> &[f16] {
        &self.windows[i * self.window_len..(i + 1) * self.window_len]
    }

    /// Windows `start .. start + n` as f32 values, back to back (what the networks take).
    pub fn windows_f32(&self, start: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n * self.window_len];
        self.windows[start * self.window_len..(start + n) * self.window_len]
            .convert_to_f32_slice(&mut out);
        out
    }

    pub fn label(&self, i: usize) -> &[f32] {
        &self.labels[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// Windows in which each class is present.
    pub fn positives(&self) -> Vec<usize> {
        let mut out = vec![0; self.n_classes];
        for l in self.labels.chunks_exact(self.n_classes) {
            for (o, &v) in out.iter_mut().zip(l) {
                *o += (v > 0.5) as usize;
            }
        }
        out
    }

    /// The windows of the first `n` songs only (for studies of how much data helps).
    pub fn first_songs(&self, n: usize) -> WindowSet {
        let keep: std::collections::HashSet<&str> =
            self.songs.iter().take(n).map(String::as_str).collect();
        let mut out = WindowSet::new(self.window_len, self.n_classes);
        // Songs of each track are not stored per window; rebuild from the track list.
        let mut start = 0;
        while start < self.len() {
            let t = self.track_of[start] as usize;
            let mut end = start;
            while end < self.len() && self.track_of[end] as usize == t {
                end += 1;
            }
            let song = &self.track_songs[t];
            if keep.contains(song.as_str()) {
                out.push_track_f16(
                    &self.tracks[t],
                    song,
                    &self.windows[start * self.window_len..end * self.window_len],
                    &self.labels[start * self.n_classes..end * self.n_classes],
                );
            }
            start = end;
        }
        out
    }

    /// Adds another set's windows after these.
    pub fn append(&mut self, other: WindowSet) {
        let offset = self.tracks.len() as u32;
        self.windows.extend(other.windows);
        self.labels.extend(other.labels);
        self.track_of
            .extend(other.track_of.iter().map(|t| t + offset));
        self.tracks.extend(other.tracks);
        self.track_songs.extend(other.track_songs);
        for song in other.songs {
            if !self.songs.contains(&song) {
                self.songs.push(song);
            }
        }
    }

    fn push_track(&mut self, id: &str, song: &str, windows: &[f32], labels: &[f32]) {
        let start = self.windows.len();
        self.windows.resize(start + windows.len(), f16::ZERO);
        self.windows[start..].convert_from_f32_slice(windows);
        self.push_track_entry(id, song, labels);
    }

    fn push_track_f16(&mut self, id: &str, song: &str, windows: &[f16], labels: &[f32]) {
        self.windows.extend_from_slice(windows);
        self.push_track_entry(id, song, labels);
    }

    /// The track's id, song and labels, after its windows were added.
    fn push_track_entry(&mut self, id: &str, song: &str, labels: &[f32]) {
        let t = self.tracks.len() as u32;
        self.tracks.push(id.to_owned());
        self.track_songs.push(song.to_owned());
        if !self.songs.iter().any(|s| s == song) {
            self.songs.push(song.to_owned());
        }
        self.labels.extend_from_slice(labels);
        self.track_of
            .extend(std::iter::repeat_n(t, labels.len() / self.n_classes));
    }
}

/// What [`load`] read.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub cache_hits: usize,
    pub cache_misses: usize,
    /// Of the misses, those whose windows could not be stored (they are computed again when the
    /// windows are gathered), and the first reason.
    pub cache_unstored: usize,
    pub cache_unstored_why: Option<String>,
    /// Tracks skipped with `skip_bad`, with why.
    pub skipped: Vec<DataError>,
}

/// The song a track belongs to: its source MIDI file when it was rendered from one, else its id.
pub fn song_of(track: &Track) -> String {
    track
        .metadata
        .lmd_midi_dir
        .clone()
        .unwrap_or_else(|| track.dir.id.clone())
}

/// Options for [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub windows: WindowSettings,
    pub fractions: SplitFractions,
    pub skip_bad: bool,
    /// Use at most this many tracks (in discovery order), for quick runs and data-size studies.
    pub max_tracks: Option<usize>,
    /// Tracks read at once.
    pub threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            windows: WindowSettings::default(),
            fractions: SplitFractions::default(),
            skip_bad: false,
            max_tracks: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Reads every track under `root` (through the cache in `cache_dir`) into one [`WindowSet`] per
/// split: train, validation, test. `progress` is called after each track with (done, total).
pub fn load(
    root: &Path,
    cache_dir: &Path,
    spec: &ModelSpec,
    options: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<([WindowSet; 3], LoadReport), DataError> {
    let mut dirs: Vec<TrackDir> = discover(root)?
        .into_iter()
        .filter(|d| d.split != Some(Split::Omitted))
        .collect();
    if let Some(n) = options.max_tracks {
        dirs.truncate(n);
    }
    let cache = WindowCache::new(cache_dir)?;
    // First, every track's windows into the cache, in parallel; only their count is kept, so
    // that memory holds the windows once (in the sets below), not twice.
    type Loaded = Result<(Track, Split, String, usize, CacheStatus), DataError>;
    let results: Vec<Mutex<Option<Loaded>>> = dirs.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= dirs.len() {
                        break;
                    }
                    let r = Track::open(&dirs[i]).and_then(|track| {
                        let song = song_of(&track);
                        let split = assign_song(&dirs[i], &song, &options.fractions);
                        let (w, status) = cache.load_or_compute(&track, spec, &options.windows)?;
                        Ok((track, split, song, w.len(), status))
                    });
                    *results[i].lock().expect("not poisoned") = Some(r);
                    let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(d, dirs.len());
                }
            });
        }
    });
    let (wl, nc) = (spec.mel.window_len(), spec.n_classes());
    let mut sets = [
        WindowSet::new(wl, nc),
        WindowSet::new(wl, nc),
        WindowSet::new(wl, nc),
    ];
    let index = |split: Split| match split {
        Split::Train => 0,
        Split::Validation => 1,
        _ => 2,
    };
    let mut report = LoadReport::default();
    let mut good = Vec::with_capacity(dirs.len());
    let mut sizes = [0usize; 3];
    for r in results {
        match r
            .into_inner()
            .expect("not poisoned")
            .expect("every track was read")
        {
            Ok((track, split, song, n, status)) => {
                match status {
                    CacheStatus::Hit => report.cache_hits += 1,
                    CacheStatus::Miss => report.cache_misses += 1,
                    CacheStatus::Unstored(why) => {
                        report.cache_misses += 1;
                        report.cache_unstored += 1;
                        report.cache_unstored_why.get_or_insert(why);
                    }
                }
                sizes[index(split)] += n;
                good.push((track, split, song));
            }
            Err(e) if options.skip_bad => report.skipped.push(e),
            Err(e) => return Err(e),
        }
    }
    for (set, &n) in sets.iter_mut().zip(&sizes) {
        set.windows.reserve_exact(n * wl);
        set.labels.reserve_exact(n * nc);
    }
    // Then the windows, from the cache, one track at a time.
    for (track, split, song) in good {
        let (w, _) = cache.load_or_compute(&track, spec, &options.windows)?;
        sets[index(split)].push_track(&track.dir.id, &song, &w.windows, &w.labels);
    }
    Ok((sets, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_kept_in_half_precision_to_within_0_05_db() {
        let mut set = WindowSet::new(4, 2);
        let values = [-100.0f32, -43.217, 0.031, 61.9];
        set.push_track("Track00001", "song", &values, &[1.0, 0.0]);
        set.push_track("Track00002", "song", &[-80.0; 4], &[0.0, 1.0]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.songs, vec!["song".to_owned()]);
        let back = set.windows_f32(0, 2);
        assert_eq!(back.len(), 8);
        for (b, v) in back.iter().zip(values.iter().chain(&[-80.0; 4])) {
            assert!((b - v).abs() < 0.05, "{v} came back as {b}");
        }
        // Copying a track between sets (first_songs) keeps its values exactly.
        let copy = set.first_songs(1);
        assert_eq!(copy.windows, set.windows);
        assert_eq!(copy.label(1), &[0.0, 1.0]);
    }
}
