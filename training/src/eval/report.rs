//! What `instrunet eval` prints and writes: Markdown tables of metrics and false alarms, and every
//! window's predictions as CSV.

use crate::data::dataset::WindowSet;
use crate::eval::metrics::{FalseAlarms, Metrics};

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
        let rows: [(&str, &dyn Fn(&Metrics) -> f64, bool); 13] = [
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
            ("Windows", &|m| m.windows as f64, false),
        ];
        for (label, f, percent) in rows {
            s += &format!("| {label} |");
            for (_, m) in models {
                let v = f(m);
                s += &if label == "Windows" {
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
            "| Class | Support | Threshold | Precision | Recall | F1 | AP |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for m in &self.classes {
            s += &format!(
                "| {} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {} |\n",
                m.class,
                m.support,
                m.threshold,
                m.precision,
                m.recall,
                m.f1,
                m.ap.map_or("–".to_owned(), |a| format!("{a:.3}"))
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

/// Every window's probabilities and labels as CSV: `track,song,start_s`, then `p_<class>` and
/// `y_<class>` per class. Windows are in track order, so a window's start is its place within its
/// track times `stride_s`.
pub fn predictions_csv(
    set: &WindowSet,
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
    for (i, &t) in set.track_of.iter().enumerate() {
        place = if i > 0 && set.track_of[i - 1] == t {
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
}
