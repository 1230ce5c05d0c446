//! `instrunet eval --study`: where the errors come from (model/STUDIES.md, "Where the errors come
//! from"). Every figure is computed on the probabilities and thresholds `eval` scores (after
//! `--smooth`, at the weights' own or the `--tune-on` thresholds), with the metric functions of
//! [`crate::eval::metrics`]:
//!
//! - label edges ([`EdgeStudy`]): label cells at an on/off edge of their class (a neighbouring
//!   window of the same track has the other label), and how many of the errors lie there;
//! - whole tracks ([`WholeTrackStudy`]): each track ranked by its highest and by its mean window
//!   probability, against whether the class plays anywhere in it;
//! - shared samples ([`SoundAlikeStudy`], `--sound-alikes`): the labels of a class whose every
//!   melodic stem in the track plays a program that its SoundFont plays with the same samples as a
//!   program of another class ([`Font::sound_alikes`], the rule `instrunet data fonts` lists).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use instrunet_model::InstrumentClass;
use serde::{Deserialize, Serialize};

use crate::data::slakh::Track;
use crate::eval::metrics::average_precision;
use crate::eval::smooth::track_runs;
use crate::synth::fonts::{Font, TRAINING_SOUNDFONTS};

/// The share of shared samples from which two programs count as sounding alike (the default of
/// `instrunet data fonts --min-share`).
pub const SOUND_ALIKE_MIN_SHARE: f64 = 0.5;

fn share(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Label edges: see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeStudy {
    /// (window, class) label cells.
    pub cells: usize,
    /// Cells at an on/off edge of their class.
    pub edge_cells: usize,
    /// Wrong decisions (at the thresholds), and how many of them at edges.
    pub errors: usize,
    pub errors_at_edges: usize,
    /// `edge_cells / cells`.
    pub edge_share: Option<f64>,
    /// `errors_at_edges / errors`.
    pub error_share_at_edges: Option<f64>,
    /// Errors per cell at edges and elsewhere.
    pub error_rate_at_edges: Option<f64>,
    pub error_rate_elsewhere: Option<f64>,
}

/// Per (window, class) cell of window-major `labels`, whether the window before or after it in
/// the same track has the other label for that class.
pub fn edge_cells(labels: &[f32], classes: usize, track_of: &[u32]) -> Vec<bool> {
    let on = |w: usize, k: usize| labels[w * classes + k] > 0.5;
    let mut edge = vec![false; labels.len()];
    for run in track_runs(track_of) {
        for w in run.clone() {
            for k in 0..classes {
                let differs = |j: usize| on(j, k) != on(w, k);
                edge[w * classes + k] =
                    (w > run.start && differs(w - 1)) || (w + 1 < run.end && differs(w + 1));
            }
        }
    }
    edge
}

impl EdgeStudy {
    pub fn compute(
        probs: &[f32],
        labels: &[f32],
        thresholds: &[f32],
        track_of: &[u32],
    ) -> EdgeStudy {
        let c = thresholds.len();
        let edge = edge_cells(labels, c, track_of);
        let wrong: Vec<bool> = (0..labels.len())
            .map(|i| (probs[i] >= thresholds[i % c]) != (labels[i] > 0.5))
            .collect();
        let edge_cells = edge.iter().filter(|&&e| e).count();
        let errors = wrong.iter().filter(|&&e| e).count();
        let errors_at_edges = edge.iter().zip(&wrong).filter(|&(&e, &w)| e && w).count();
        EdgeStudy {
            cells: labels.len(),
            edge_cells,
            errors,
            errors_at_edges,
            edge_share: share(edge_cells, labels.len()),
            error_share_at_edges: share(errors_at_edges, errors),
            error_rate_at_edges: share(errors_at_edges, edge_cells),
            error_rate_elsewhere: share(errors - errors_at_edges, labels.len() - edge_cells),
        }
    }
}

/// Whole tracks ranked by their windows' probabilities: see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WholeTrackStudy {
    pub tracks: usize,
    /// The classes present in some but not all tracks (the others have no ranking to score).
    pub classes: Vec<String>,
    /// Per class of `classes`, AP of the tracks ranked by their highest window probability.
    pub ap_by_highest: Vec<f64>,
    /// Per class of `classes`, AP of the tracks ranked by their mean window probability.
    pub ap_by_mean: Vec<f64>,
    /// Macro means of the two; `None` when no class qualifies.
    pub map_by_highest: Option<f64>,
    pub map_by_mean: Option<f64>,
}

impl WholeTrackStudy {
    pub fn compute(
        probs: &[f32],
        labels: &[f32],
        names: &[String],
        track_of: &[u32],
    ) -> WholeTrackStudy {
        let c = names.len();
        let runs = track_runs(track_of);
        let (mut classes, mut ap_by_highest, mut ap_by_mean) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..c {
            let column = |run: &std::ops::Range<usize>, v: &[f32]| -> Vec<f32> {
                run.clone().map(|w| v[w * c + k]).collect()
            };
            let present: Vec<bool> = runs
                .iter()
                .map(|r| column(r, labels).iter().any(|&l| l > 0.5))
                .collect();
            let n_present = present.iter().filter(|&&p| p).count();
            if n_present == 0 || n_present == runs.len() {
                continue;
            }
            let highest: Vec<f32> = runs
                .iter()
                .map(|r| column(r, probs).into_iter().fold(f32::MIN, f32::max))
                .collect();
            let mean: Vec<f32> = runs
                .iter()
                .map(|r| column(r, probs).iter().sum::<f32>() / r.len() as f32)
                .collect();
            classes.push(names[k].clone());
            ap_by_highest.push(average_precision(&highest, &present).expect("a track has it"));
            ap_by_mean.push(average_precision(&mean, &present).expect("a track has it"));
        }
        WholeTrackStudy {
            tracks: runs.len(),
            map_by_highest: mean(&ap_by_highest),
            map_by_mean: mean(&ap_by_mean),
            classes,
            ap_by_highest,
            ap_by_mean,
        }
    }
}

/// A stem as the `--predictions` sidecar and the shared-sample study see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StemInfo {
    /// `S00`, `S01`, ...
    pub name: String,
    /// The model's class name (drum stems: Drums).
    pub class: String,
    pub program: u32,
    pub is_drum: bool,
    /// The stem's `plugin_name`: for tracks made by `instrunet synth`, the SoundFont file name.
    pub font: Option<String>,
    /// Whether its font plays its program with the samples of another class's program (computed
    /// with `--sound-alikes`; always false for drum stems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_alike: Option<bool>,
}

/// The stems of a track that have audio (those its labels come from), in name order.
pub fn stems_of(track: &Track) -> Vec<StemInfo> {
    track
        .stems
        .iter()
        .map(|s| StemInfo {
            name: s.name.clone(),
            class: s.class.name().to_owned(),
            program: s.program,
            is_drum: s.is_drum,
            font: track
                .metadata
                .stems
                .get(&s.name)
                .and_then(|m| m.plugin_name.clone()),
            sound_alike: None,
        })
        .collect()
}

/// The melodic programs each SoundFont plays with another class's samples
/// ([`Font::sound_alikes`] at [`SOUND_ALIKE_MIN_SHARE`]), fonts found by file name and loaded
/// once.
pub struct SoundAlikePrograms {
    /// Folders searched first, then the training fonts' Debian paths.
    dirs: Vec<PathBuf>,
    programs: BTreeMap<String, BTreeSet<u32>>,
}

impl SoundAlikePrograms {
    pub fn new(fonts_dir: Option<&Path>) -> Self {
        Self {
            dirs: fonts_dir.map(Path::to_owned).into_iter().collect(),
            programs: BTreeMap::new(),
        }
    }

    /// Where the font file named `name` is: in the fonts folder, else among the training fonts.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        let in_dirs = self.dirs.iter().map(|d| d.join(name));
        let training = TRAINING_SOUNDFONTS
            .iter()
            .map(|(p, _)| PathBuf::from(p))
            .filter(|p| p.file_name().is_some_and(|n| n == name));
        in_dirs.chain(training).find(|p| p.is_file())
    }

    /// The sound-alike programs of the font named `name`.
    pub fn of(&mut self, name: &str) -> Result<&BTreeSet<u32>, String> {
        if !self.programs.contains_key(name) {
            let path = self.find(name).ok_or_else(|| {
                let mut places: Vec<String> =
                    self.dirs.iter().map(|d| d.display().to_string()).collect();
                places.push("the training fonts' paths".into());
                format!(
                    "SoundFont {name:?} not found (looked in {}; pass --fonts-dir)",
                    places.join(", ")
                )
            })?;
            let font = Font::load(&path)?;
            let programs = if font.is_kit_only() {
                BTreeSet::new()
            } else {
                font.sound_alikes(SOUND_ALIKE_MIN_SHARE)
                    .iter()
                    .flat_map(|p| p.programs)
                    .collect()
            };
            self.programs.insert(name.to_owned(), programs);
        }
        Ok(&self.programs[name])
    }

    /// Sets `sound_alike` on every stem: drum stems never; a melodic stem when its font plays its
    /// program alike. A melodic stem that names no font is an error.
    pub fn mark(&mut self, track: &str, stems: &mut [StemInfo]) -> Result<(), String> {
        for stem in stems {
            stem.sound_alike = Some(if stem.is_drum {
                false
            } else {
                let font = stem.font.as_deref().ok_or_else(|| {
                    format!(
                        "{track} {}: no plugin_name (font) in its metadata",
                        stem.name
                    )
                })?;
                self.of(font)
                    .map_err(|e| format!("{track} {}: {e}", stem.name))?
                    .contains(&stem.program)
            });
        }
        Ok(())
    }
}

/// Per class of `names`, whether the track's melodic stems of that class all play sound-alike
/// programs (false when it has none). Needs `sound_alike` on every stem.
pub fn alike_classes(stems: &[StemInfo], names: &[String]) -> Vec<bool> {
    names
        .iter()
        .map(|name| {
            let mut of_class = stems.iter().filter(|s| !s.is_drum && &s.class == name);
            let mut any = false;
            let all = of_class.all(|s| {
                any = true;
                s.sound_alike == Some(true)
            });
            any && all
        })
        .collect()
}

/// The labels of stems that play another class's samples: see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoundAlikeStudy {
    /// Present labels of a class whose melodic stems in the track all play sound-alike programs.
    pub cells: usize,
    /// Present labels of classes other than Drums.
    pub melodic_labels: usize,
    /// `cells / melodic_labels`.
    pub share_of_melodic: Option<f64>,
    /// Recall on those cells, and on every other present label.
    pub recall_on_them: Option<f64>,
    pub recall_on_others: Option<f64>,
    /// Macro mean AP over the classes present, with those cells left out.
    pub map_without: Option<f64>,
}

impl SoundAlikeStudy {
    /// `alike[t][k]`: [`alike_classes`] of the track with index `t` in `track_of`.
    pub fn compute(
        probs: &[f32],
        labels: &[f32],
        names: &[String],
        thresholds: &[f32],
        track_of: &[u32],
        alike: &[Vec<bool>],
    ) -> SoundAlikeStudy {
        let c = names.len();
        let n = labels.len().checked_div(c).unwrap_or(0);
        let on = |i: usize| labels[i] > 0.5;
        let masked = |i: usize| on(i) && alike[track_of[i / c] as usize][i % c];
        let said = |i: usize| probs[i] >= thresholds[i % c];
        let drums = InstrumentClass::Drums.name();
        let (mut cells, mut hit_them, mut others, mut hit_others, mut melodic) = (0, 0, 0, 0, 0);
        for i in 0..labels.len() {
            if !on(i) {
                continue;
            }
            melodic += (names[i % c] != drums) as usize;
            if masked(i) {
                cells += 1;
                hit_them += said(i) as usize;
            } else {
                others += 1;
                hit_others += said(i) as usize;
            }
        }
        let aps: Vec<f64> = (0..c)
            .filter_map(|k| {
                let kept: Vec<usize> = (0..n).map(|w| w * c + k).filter(|&i| !masked(i)).collect();
                let scores: Vec<f32> = kept.iter().map(|&i| probs[i]).collect();
                let positive: Vec<bool> = kept.iter().map(|&i| on(i)).collect();
                average_precision(&scores, &positive)
            })
            .collect();
        SoundAlikeStudy {
            cells,
            melodic_labels: melodic,
            share_of_melodic: share(cells, melodic),
            recall_on_them: share(hit_them, cells),
            recall_on_others: share(hit_others, others),
            map_without: mean(&aps),
        }
    }
}

/// Everything `--study` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    pub edges: EdgeStudy,
    pub whole_tracks: WholeTrackStudy,
    pub sound_alikes: Option<SoundAlikeStudy>,
}

impl Study {
    /// The label-edge and whole-track studies, and the shared-sample one when `alike` (per track,
    /// [`alike_classes`]) is given.
    pub fn compute(
        probs: &[f32],
        labels: &[f32],
        names: &[String],
        thresholds: &[f32],
        track_of: &[u32],
        alike: Option<&[Vec<bool>]>,
    ) -> Study {
        Study {
            edges: EdgeStudy::compute(probs, labels, thresholds, track_of),
            whole_tracks: WholeTrackStudy::compute(probs, labels, names, track_of),
            sound_alikes: alike
                .map(|a| SoundAlikeStudy::compute(probs, labels, names, thresholds, track_of, a)),
        }
    }

    /// The study as Markdown.
    pub fn markdown(&self) -> String {
        let pc = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{:.1} %", 100.0 * v));
        let num = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.3}"));
        let e = &self.edges;
        let mut s = format!(
            "| Label edges | |\n|---|---:|\n\
             | Label cells at an on/off edge of their class | {} ({} of {}) |\n\
             | Errors there | {} ({} of {}) |\n\
             | Error rate at edges | {} |\n\
             | Error rate elsewhere | {} |\n\n",
            pc(e.edge_share),
            e.edge_cells,
            e.cells,
            pc(e.error_share_at_edges),
            e.errors_at_edges,
            e.errors,
            pc(e.error_rate_at_edges),
            pc(e.error_rate_elsewhere),
        );
        let w = &self.whole_tracks;
        s += &format!(
            "Whole tracks ({} tracks; {} classes present in some but not all of them):\n\n\
             | Tracks ranked by | mAP |\n|---|---:|\n\
             | the highest window probability | {} |\n\
             | the mean window probability | {} |\n",
            w.tracks,
            w.classes.len(),
            num(w.map_by_highest),
            num(w.map_by_mean),
        );
        if let Some(a) = &self.sound_alikes {
            s += &format!(
                "\n| Labels from stems that play another class's samples | |\n|---|---:|\n\
                 | Share of the melodic labels | {} ({} of {}) |\n\
                 | Recall on them | {} |\n\
                 | Recall on the other labels | {} |\n\
                 | mAP without those cells | {} |\n",
                pc(a.share_of_melodic),
                a.cells,
                a.melodic_labels,
                num(a.recall_on_them),
                num(a.recall_on_others),
                num(a.map_without),
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn edges_are_found_within_tracks_only() {
        // One class; track 0: windows 0-2 (off, on, on), track 1: windows 3-4 (off, off).
        let labels = [0.0, 1.0, 1.0, 0.0, 0.0];
        let track_of = [0, 0, 0, 1, 1];
        // Window 2 (on) is followed by window 3 (off) of the other track: not an edge.
        assert_eq!(
            edge_cells(&labels, 1, &track_of),
            [true, true, false, false, false]
        );
        // Two classes: class 1 is on throughout, never an edge.
        let labels = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        assert_eq!(
            edge_cells(&labels, 2, &[0, 0, 0]),
            [true, false, true, false, false, false]
        );
        // Errors: window 0 (an edge) wrong, window 3 (not an edge) wrong.
        let labels = [0.0, 1.0, 1.0, 0.0, 0.0];
        let probs = [0.9, 0.9, 0.9, 0.9, 0.1];
        let e = EdgeStudy::compute(&probs, &labels, &[0.5], &track_of);
        assert_eq!(
            (e.cells, e.edge_cells, e.errors, e.errors_at_edges),
            (5, 2, 2, 1)
        );
        assert_eq!(e.error_share_at_edges, Some(0.5));
        assert_eq!(e.error_rate_at_edges, Some(0.5));
        assert!((e.error_rate_elsewhere.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn whole_tracks_are_ranked_by_their_highest_and_mean_probability() {
        // Class a plays in track 0 only; class b in every track (no ranking to score).
        // Track 0: one confident window among quiet ones; track 1: uniformly middling.
        let probs = [
            0.9, 0.5, 0.1, 0.5, 0.1, 0.5, //
            0.6, 0.5, 0.6, 0.5,
        ];
        let labels = [
            1.0, 1.0, 0.0, 1.0, 0.0, 1.0, //
            0.0, 1.0, 0.0, 1.0,
        ];
        let track_of = [0, 0, 0, 1, 1];
        let w = WholeTrackStudy::compute(&probs, &labels, &names(&["a", "b"]), &track_of);
        assert_eq!(w.tracks, 2);
        assert_eq!(w.classes, ["a"]);
        // Highest: 0.9 against 0.6, the right track first. Mean: 0.367 against 0.6, wrong.
        assert_eq!(w.map_by_highest, Some(1.0));
        assert_eq!(w.map_by_mean, Some(0.5));
    }

    #[test]
    fn sound_alike_cells_are_scored_apart() {
        let stems = |alike: [bool; 3]| {
            vec![
                StemInfo {
                    name: "S00".into(),
                    class: "Strings".into(),
                    program: 40,
                    is_drum: false,
                    font: Some("f.sf2".into()),
                    sound_alike: Some(alike[0]),
                },
                StemInfo {
                    name: "S01".into(),
                    class: "Strings".into(),
                    program: 48,
                    is_drum: false,
                    font: Some("f.sf2".into()),
                    sound_alike: Some(alike[1]),
                },
                StemInfo {
                    name: "S02".into(),
                    class: "Drums".into(),
                    program: 128,
                    is_drum: true,
                    font: Some("f.sf2".into()),
                    sound_alike: Some(alike[2]),
                },
            ]
        };
        let classes = names(&["Strings", "Drums", "Piano"]);
        // One of two Strings stems alike: the class is not masked.
        assert_eq!(
            alike_classes(&stems([true, false, false]), &classes),
            [false, false, false]
        );
        assert_eq!(
            alike_classes(&stems([true, true, false]), &classes),
            [true, false, false]
        );
        // Track 0's Strings masked, track 1's not. Windows: t0 w0, t0 w1, t1 w2, t1 w3.
        let alike = vec![vec![true, false, false], vec![false, false, false]];
        let labels = [
            1.0, 1.0, 0.0, //
            1.0, 0.0, 0.0, //
            1.0, 1.0, 0.0, //
            0.0, 1.0, 0.0,
        ];
        let probs = [
            0.2, 0.9, 0.1, //
            0.3, 0.1, 0.1, //
            0.8, 0.9, 0.1, //
            0.4, 0.9, 0.1,
        ];
        let track_of = [0, 0, 1, 1];
        let s = SoundAlikeStudy::compute(&probs, &labels, &classes, &[0.5; 3], &track_of, &alike);
        assert_eq!((s.cells, s.melodic_labels), (2, 3));
        assert_eq!(s.recall_on_them, Some(0.0));
        // The others: t1's Strings (hit) and two Drums labels (hit).
        assert_eq!(s.recall_on_others, Some(1.0));
        // Without the masked cells Strings' one positive (0.8) outranks its negative (0.4) and
        // Drums ranks its three positives first: mAP 1.
        assert_eq!(s.map_without, Some(1.0));
        // With them, the masked positives (0.2, 0.3) rank below that negative.
        let none = vec![vec![false; 3]; 2];
        let all = SoundAlikeStudy::compute(&probs, &labels, &classes, &[0.5; 3], &track_of, &none);
        assert_eq!(all.cells, 0);
        assert!(all.map_without.unwrap() < 0.99, "{all:?}");
    }
}
