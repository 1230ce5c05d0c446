//! What `instrunet eval` prints and writes: Markdown tables of metrics and false alarms, and every
//! window's predictions as CSV with a JSON sidecar ([`PredictionsSidecar`]).

use serde::{Deserialize, Serialize};

use crate::data::dataset::WindowSet;
use crate::eval::metrics::{FalseAlarms, Metrics};
use crate::eval::smooth::{Smoothing, track_runs};
use crate::eval::study::StemInfo;

/// The false-alarm table: the three classes most over-represented in each class's false alarms.
pub fn markdown_false_alarms(rows: &[FalseAlarms]) -> String {
    let mut s = String::from(
        "| Reported but absent | False alarms | Playing instead: share of those windows (of all windows); silence: windows with nothing playing |\n|---|---:|---|\n",
    );
    for r in rows {
        let mut instead: Vec<String> = r
            .playing_instead
            .iter()
            .take(3)
            .map(|(name, share, base)| {
                format!("{name} {:.0} % ({:.0} %)", 100.0 * share, 100.0 * base)
            })
            .collect();
        if r.in_silence > 0 {
            instead.push(format!("silence: {}", r.in_silence));
        }
        s += &format!("| {} | {} | {} |\n", r.class, r.count, instead.join(", "));
    }
    s
}

impl Metrics {
    /// The headline rows, one column per model.
    pub fn markdown_summary(models: &[(&str, &Metrics)]) -> String {
        let mut s = String::from("| Metric |");
        for (name, _) in models {
            s += &format!(" {name} |");
        }
        s += "\n|---|";
        s += &"---:|".repeat(models.len());
        s += "\n";
        // (label, the figure, shown as a percentage)
        type Row<'a> = (&'a str, &'a dyn Fn(&Metrics) -> f64, bool);
        let rows: [Row; 17] = [
            ("Subset accuracy", &|m| m.subset_accuracy, true),
            ("Hamming accuracy", &|m| m.hamming_accuracy, true),
            ("F1 (weighted)", &|m| m.weighted.f1, false),
            ("Precision (weighted)", &|m| m.weighted.precision, false),
            ("Recall (weighted)", &|m| m.weighted.recall, false),
            ("F1 (macro)", &|m| m.macro_avg.f1, false),
            ("Precision (macro)", &|m| m.macro_avg.precision, false),
            ("Recall (macro)", &|m| m.macro_avg.recall, false),
            ("F1 (micro)", &|m| m.micro.f1, false),
            ("Precision (micro)", &|m| m.micro.precision, false),
            ("Recall (micro)", &|m| m.micro.recall, false),
            ("mAP (macro)", &|m| m.map, false),
            ("ROC-AUC (macro)", &|m| m.macro_roc_auc, false),
            ("ROC-AUC (lowest class)", &|m| m.min_roc_auc, false),
            ("Windows", &|m| m.windows as f64, false),
            (
                "Windows with no instrument",
                &|m| m.empty_windows as f64,
                false,
            ),
            (
                "… of which some class is reported",
                &|m| m.empty_reported,
                true,
            ),
        ];
        for (label, f, percent) in rows {
            s += &format!("| {label} |");
            for (_, m) in models {
                let v = f(m);
                s += &if label.starts_with("Windows") {
                    format!(" {v:.0} |")
                } else if percent {
                    format!(" {:.1} % |", 100.0 * v)
                } else {
                    format!(" {v:.3} |")
                };
            }
            s += "\n";
        }
        s
    }

    /// The per-class table.
    pub fn markdown_classes(&self) -> String {
        let mut s = String::from(
            "| Class | Support | Threshold | Precision | Recall | F1 | AP | ROC-AUC |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for m in &self.classes {
            s += &format!(
                "| {} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {} | {} |\n",
                m.class,
                m.support,
                m.threshold,
                m.precision,
                m.recall,
                m.f1,
                m.ap.map_or("–".to_owned(), |a| format!("{a:.3}")),
                m.roc_auc.map_or("–".to_owned(), |a| format!("{a:.3}"))
            );
        }
        s
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Every row's probabilities and labels as CSV: `track,song,start_s`, then `p_<class>` and
/// `y_<class>` per class. A row is a window of `set`, or a segment of its windows (`eval
/// --segments`); `track_of` gives each row's track. Rows are in track order, so a row's start is
/// its place within its track times `stride_s` (seconds between rows).
pub fn predictions_csv(
    set: &WindowSet,
    track_of: &[u32],
    probs: &[f32],
    labels: &[f32],
    names: &[String],
    stride_s: f64,
) -> String {
    let n = names.len();
    let mut out = String::from("track,song,start_s");
    for name in names {
        out.push_str(&format!(",p_{0},y_{0}", name.replace(' ', "_")));
    }
    out.push('\n');
    let mut place = 0usize;
    for (i, &t) in track_of.iter().enumerate() {
        place = if i > 0 && track_of[i - 1] == t {
            place + 1
        } else {
            0
        };
        let t = t as usize;
        out.push_str(&format!(
            "{},{},{:.3}",
            csv_field(&set.tracks[t]),
            csv_field(&set.track_songs[t]),
            place as f64 * stride_s
        ));
        for k in 0..n {
            out.push_str(&format!(
                ",{:.5},{}",
                probs[i * n + k],
                labels[i * n + k] as u8
            ));
        }
        out.push('\n');
    }
    out
}

/// What a script needs beside the `--predictions` CSV, written next to it as `FILE.json`: the
/// exact class names of its columns (the CSV's headers write spaces as `_`), how its rows are
/// spaced, smoothed and thresholded, and each track's rows and stems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionsSidecar {
    /// The CSV file's name.
    pub csv: String,
    /// Class names, in the CSV's column order (`p_`/`y_` pairs).
    pub classes: Vec<String>,
    /// Seconds between the starts of consecutive rows of a track (windows, or segments).
    pub stride_s: f64,
    /// The CSV's probabilities are after this averaging of neighbouring windows.
    pub smoothing: Smoothing,
    /// The thresholds the metrics were measured at, per class.
    pub thresholds: Vec<f32>,
    /// Where they come from: `weights` or `tuned on SET`.
    pub thresholds_from: String,
    pub tracks: Vec<SidecarTrack>,
}

/// One track of the predictions CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidecarTrack {
    /// The track folder's name (the CSV's `track`).
    pub name: String,
    /// The CSV's `song`.
    pub song: String,
    /// The track folder, when known.
    pub folder: Option<String>,
    /// Its first data row (0: the row after the header) and how many rows it has.
    pub first_row: usize,
    pub rows: usize,
    /// Its stems with audio.
    pub stems: Vec<StemInfo>,
}

/// The sidecar of [`predictions_csv`] for the same set and rows (`track_of`): `folders` and
/// `stems` per track of `set.tracks` (empty when unknown).
#[allow(clippy::too_many_arguments)]
pub fn predictions_sidecar(
    csv: &str,
    set: &WindowSet,
    track_of: &[u32],
    names: &[String],
    stride_s: f64,
    smoothing: Smoothing,
    thresholds: &[f32],
    thresholds_from: &str,
    folders: &[Option<String>],
    stems: &[Vec<StemInfo>],
) -> PredictionsSidecar {
    let tracks = track_runs(track_of)
        .into_iter()
        .map(|run| {
            let t = track_of[run.start] as usize;
            SidecarTrack {
                name: set.tracks[t].clone(),
                song: set.track_songs[t].clone(),
                folder: folders.get(t).cloned().flatten(),
                first_row: run.start,
                rows: run.len(),
                stems: stems.get(t).cloned().unwrap_or_default(),
            }
        })
        .collect();
    PredictionsSidecar {
        csv: csv.to_owned(),
        classes: names.to_vec(),
        stride_s,
        smoothing,
        thresholds: thresholds.to_vec(),
        thresholds_from: thresholds_from.to_owned(),
        tracks,
    }
}

/// Where the sidecar of a predictions CSV goes: `FILE.json` beside `FILE.csv` (an error when that
/// is the CSV itself).
pub fn sidecar_path(csv: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let json = csv.with_extension("json");
    if json == csv {
        return Err(format!(
            "{}: the predictions file needs another extension than .json (its sidecar is FILE.json)",
            csv.display()
        ));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_csv_has_a_row_per_window_with_its_place_in_the_track() {
        let mut set = WindowSet::new(1, 2);
        set.tracks = vec!["Track00001".into(), "Track00002".into()];
        set.track_songs = vec!["song a".into(), "corpus/bach, \"bwv\"".into()];
        set.track_of = vec![0, 0, 1];
        let probs = [0.9, 0.1, 0.8, 0.2, 0.3, 0.7];
        let labels = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let csv = predictions_csv(
            &set,
            &set.track_of,
            &probs,
            &labels,
            &["Synth Pad".into(), "Bass".into()],
            1.024,
        );
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(
            rows[0],
            "track,song,start_s,p_Synth_Pad,y_Synth_Pad,p_Bass,y_Bass"
        );
        assert_eq!(rows[1], "Track00001,song a,0.000,0.90000,1,0.10000,0");
        assert_eq!(rows[2], "Track00001,song a,1.024,0.80000,1,0.20000,0");
        assert_eq!(
            rows[3],
            "Track00002,\"corpus/bach, \"\"bwv\"\"\",0.000,0.30000,0,0.70000,1"
        );
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn the_sidecar_names_each_tracks_rows_and_the_exact_class_names() {
        let mut set = WindowSet::new(1, 1);
        set.tracks = vec!["Track00001".into(), "Track00002".into()];
        set.track_songs = vec!["a".into(), "b".into()];
        set.track_of = vec![0, 0, 0, 1, 1];
        let stem = StemInfo {
            name: "S01".into(),
            class: "Synth Pad".into(),
            program: 88,
            is_drum: false,
            font: Some("FluidR3_GM.sf2".into()),
            sound_alike: None,
        };
        let s = predictions_sidecar(
            "p.csv",
            &set,
            &set.track_of,
            &["Synth Pad".into()],
            1.024,
            "1:1".parse().unwrap(),
            &[0.4],
            "weights",
            &[Some("/d/Track00001".into()), None],
            &[vec![stem.clone()], vec![]],
        );
        assert_eq!(s.classes, ["Synth Pad"]);
        assert_eq!(
            (
                s.tracks[0].first_row,
                s.tracks[0].rows,
                s.tracks[1].first_row,
                s.tracks[1].rows
            ),
            (0, 3, 3, 2)
        );
        assert_eq!(s.tracks[0].stems, [stem]);
        assert_eq!(s.tracks[1].folder, None);
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("\"smoothing\":{\"before\":1,\"after\":1}"),
            "{json}"
        );
        // Not computed: no sound_alike key at all.
        assert!(!json.contains("sound_alike"), "{json}");
        let back: PredictionsSidecar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            sidecar_path(std::path::Path::new("/x/p.csv")).unwrap(),
            std::path::Path::new("/x/p.json")
        );
        assert!(sidecar_path(std::path::Path::new("p.json")).is_err());
    }
}
