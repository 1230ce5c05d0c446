//! `instrunet compare --base A --new B`: two weights files side by side on the held-out sets whose
//! metrics `calibrate --test` recorded in them, set by set, with a verdict. It is the ship rule
//! written down: new weights replace the shipped ones when they are better on every proxy set
//! (ranking and decisions: mAP and macro F1), keep non-music dark and are measured on the same
//! windows. `--check` makes the verdict the exit status, for recipes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use instrunet_model::{ModelSpec, Weights};

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The weights to beat (default: the embedded model).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// The candidate weights.
    #[arg(long)]
    pub new: PathBuf,
    /// Differences up to this size (in metric units, e.g. 0.002) count as equal.
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// The most a non-music set may light, as a share of its analyses (the 5 %).
    #[arg(long, default_value_t = 0.05)]
    pub max_non_music_lit: f64,
    /// Exit with status 1 unless the candidate is better on every set.
    #[arg(long)]
    pub check: bool,
}

/// The figures `calibrate --test` records per set (`{set}_{figure}`), in the table's order.
const FIGURES: [&str; 8] = [
    "map",
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "weighted_f1",
    "subset_accuracy",
    "no_instrument_lit",
    "windows",
];

/// One set's figures, by name.
type SetFigures = BTreeMap<&'static str, f64>;

/// A file's held-out metrics grouped by set name.
fn sets_of(spec: &ModelSpec) -> BTreeMap<String, SetFigures> {
    let mut sets: BTreeMap<String, SetFigures> = BTreeMap::new();
    for (key, value) in &spec.provenance.metrics {
        let Some(value) = value.as_f64() else {
            continue;
        };
        // Longest suffix first: `macro_f1` must not be read as set `..._macro`, figure `f1`.
        let figure = FIGURES
            .iter()
            .filter(|f| key.ends_with(&format!("_{f}")))
            .max_by_key(|f| f.len());
        if let Some(figure) = figure {
            let set = &key[..key.len() - figure.len() - 1];
            if !set.is_empty() {
                sets.entry(set.to_owned())
                    .or_default()
                    .insert(figure, value);
            }
        }
    }
    sets
}

/// How a set came out.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// No deciding figure lower, at least one higher (beyond the tolerance).
    Better,
    /// Every deciding figure within the tolerance.
    Same,
    /// No deciding figure higher, at least one lower.
    Worse,
    /// One higher, one lower.
    Mixed,
    /// Non-music: within the limit (and how it moved).
    Dark,
    /// Non-music over the limit.
    TooBright,
    /// Not comparable, with why.
    Apart(String),
}

impl Verdict {
    fn wins(&self) -> bool {
        matches!(self, Verdict::Better | Verdict::Dark)
    }

    fn describe(&self) -> String {
        match self {
            Verdict::Better => "better".into(),
            Verdict::Same => "same".into(),
            Verdict::Worse => "worse".into(),
            Verdict::Mixed => "mixed".into(),
            Verdict::Dark => "dark enough".into(),
            Verdict::TooBright => "lights too often".into(),
            Verdict::Apart(why) => format!("not comparable: {why}"),
        }
    }
}

/// The verdict on one set present in both files. Music sets are decided on mAP (ranking) and
/// macro F1 (decisions at the file's thresholds); non-music sets (no instrument anywhere) on the
/// share of analyses that light a meter.
fn judge(base: &SetFigures, new: &SetFigures, tolerance: f64, max_lit: f64) -> Verdict {
    if base.get("windows") != new.get("windows") {
        let count = |s: &SetFigures| s.get("windows").map_or("?".into(), |w| format!("{w}"));
        return Verdict::Apart(format!("{} windows against {}", count(new), count(base)));
    }
    let music = ["map", "macro_f1"];
    if !base.contains_key("map") && !new.contains_key("map") {
        return match new.get("no_instrument_lit") {
            Some(&lit) if lit <= max_lit => Verdict::Dark,
            Some(_) => Verdict::TooBright,
            None => Verdict::Apart("no figures".into()),
        };
    }
    let mut up = false;
    let mut down = false;
    for figure in music {
        match (base.get(figure), new.get(figure)) {
            (Some(b), Some(n)) => {
                up |= n - b > tolerance;
                down |= b - n > tolerance;
            }
            _ => return Verdict::Apart(format!("{figure} missing in one file")),
        }
    }
    match (up, down) {
        (true, false) => Verdict::Better,
        (false, false) => Verdict::Same,
        (false, true) => Verdict::Worse,
        (true, true) => Verdict::Mixed,
    }
}

/// `base → new (±difference)`, or what is missing.
fn cell(base: Option<f64>, new: Option<f64>, percent: bool) -> String {
    let show = |v: f64| {
        if percent {
            format!("{:.1} %", 100.0 * v)
        } else {
            format!("{v:.3}")
        }
    };
    match (base, new) {
        (Some(b), Some(n)) => {
            if percent {
                format!("{} → {} ({:+.1})", show(b), show(n), 100.0 * (n - b))
            } else {
                format!("{} → {} ({:+.3})", show(b), show(n), n - b)
            }
        }
        (Some(b), None) => format!("{} → –", show(b)),
        (None, Some(n)) => format!("– → {}", show(n)),
        (None, None) => String::new(),
    }
}

/// The comparison as Markdown, and whether the candidate won on every set.
fn report(
    base_name: &str,
    base: &ModelSpec,
    new_name: &str,
    new: &ModelSpec,
    args: &CompareArgs,
) -> anyhow::Result<(String, bool)> {
    anyhow::ensure!(
        base.classes == new.classes,
        "the two files recognise different classes ({} against {}): their metrics do not compare",
        new.classes.join(", "),
        base.classes.join(", ")
    );
    let (b, n) = (sets_of(base), sets_of(new));
    anyhow::ensure!(
        !b.is_empty() && !n.is_empty(),
        "{} holds no held-out metrics: `instrunet calibrate --test FOLDER ...` records them",
        if b.is_empty() { base_name } else { new_name }
    );
    anyhow::ensure!(
        b.keys().any(|k| n.contains_key(k)),
        "no held-out set was measured in both files: {base_name} has {}; {new_name} has {}",
        b.keys().cloned().collect::<Vec<_>>().join(", "),
        n.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    let mut out = format!(
        "{new_name} against {base_name}, on the held-out sets recorded in both (base → new):\n\n\
         | Set | mAP | macro F1 | macro precision | macro recall | weighted F1 | subset accuracy | no-instrument windows lit | verdict |\n\
         |---|---|---|---|---|---|---|---|---|\n"
    );
    let mut losses = Vec::new();
    for name in b.keys().chain(n.keys().filter(|k| !b.contains_key(*k))) {
        let verdict = match (b.get(name), n.get(name)) {
            (Some(bs), Some(ns)) => judge(bs, ns, args.tolerance, args.max_non_music_lit),
            (Some(_), None) => Verdict::Apart(format!("only {base_name} was measured on it")),
            (None, _) => Verdict::Apart(format!("only {new_name} was measured on it")),
        };
        let get = |s: Option<&SetFigures>, f: &str| s.and_then(|s| s.get(f).copied());
        let (bs, ns) = (b.get(name), n.get(name));
        let cells: Vec<String> = FIGURES
            .iter()
            .filter(|f| **f != "windows")
            .map(|f| cell(get(bs, f), get(ns, f), *f == "no_instrument_lit"))
            .collect();
        out.push_str(&format!(
            "| {name} | {} | {} |\n",
            cells.join(" | "),
            verdict.describe()
        ));
        if !verdict.wins() {
            losses.push(format!("{name} ({})", verdict.describe()));
        }
    }
    let won = losses.is_empty();
    out.push_str(&if won {
        format!(
            "\n{new_name} is better on every set (mAP and macro F1 within ±{} and one of them higher; non-music at most {:.1} % lit).\n",
            args.tolerance,
            100.0 * args.max_non_music_lit
        )
    } else {
        format!(
            "\n{new_name} is not better on every set: {}.\n",
            losses.join(", ")
        )
    });
    Ok((out, won))
}

fn read_spec(path: &Path) -> anyhow::Result<ModelSpec> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Weights::spec_from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

pub fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let (base_name, base) = match &args.base {
        Some(p) => (p.display().to_string(), read_spec(p)?),
        None => (
            "the embedded model".to_owned(),
            Weights::spec_from_bytes(instrunet_model::DEFAULT_WEIGHTS)
                .context("loading the embedded model")?,
        ),
    };
    let new_name = args.new.display().to_string();
    let new = read_spec(&args.new)?;
    let (text, won) = report(&base_name, &base, &new_name, &new, &args)?;
    print!("{text}");
    if args.check && !won {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(metrics: serde_json::Value) -> ModelSpec {
        ModelSpec::new_default(instrunet_model::Provenance {
            metrics: metrics.as_object().unwrap().clone(),
            ..Default::default()
        })
    }

    fn args(tolerance: f64) -> CompareArgs {
        CompareArgs {
            base: None,
            new: PathBuf::new(),
            tolerance,
            max_non_music_lit: 0.05,
            check: false,
        }
    }

    #[test]
    fn metrics_group_by_set_with_underscored_figures() {
        let s = spec(serde_json::json!({
            "real-timgm_macro_f1": 0.5, "real-timgm_map": 0.55, "real-timgm_windows": 100,
            "non-music_no_instrument_lit": 0.01, "a_b_weighted_f1": 0.7, "note": "text",
        }));
        let sets = sets_of(&s);
        assert_eq!(
            sets.keys().collect::<Vec<_>>(),
            ["a_b", "non-music", "real-timgm"]
        );
        assert_eq!(sets["real-timgm"]["macro_f1"], 0.5);
        assert_eq!(sets["real-timgm"]["windows"], 100.0);
        assert_eq!(sets["a_b"]["weighted_f1"], 0.7);
        assert!(!sets["real-timgm"].contains_key("f1"));
    }

    #[test]
    fn verdicts_follow_map_and_macro_f1_and_the_windows() {
        let base = spec(serde_json::json!({
            "songs_map": 0.50, "songs_macro_f1": 0.40, "songs_windows": 10,
            "stems_map": 0.60, "stems_macro_f1": 0.50, "stems_windows": 10,
            "noise_no_instrument_lit": 0.01, "noise_windows": 5,
            "other_map": 0.5, "other_macro_f1": 0.5, "other_windows": 10,
        }));
        let better = spec(serde_json::json!({
            "songs_map": 0.52, "songs_macro_f1": 0.40, "songs_windows": 10,
            "stems_map": 0.63, "stems_macro_f1": 0.51, "stems_windows": 10,
            "noise_no_instrument_lit": 0.04, "noise_windows": 5,
            "other_map": 0.6, "other_macro_f1": 0.6, "other_windows": 10,
        }));
        let (text, won) = report("old", &base, "new", &better, &args(0.0)).unwrap();
        assert!(won, "{text}");
        assert!(text.contains("| songs | 0.500 → 0.520 (+0.020) | 0.400 → 0.400 (+0.000)"));
        assert!(text.contains("| noise |") && text.contains("1.0 % → 4.0 % (+3.0)"));

        // A drop in macro F1 on one set: mixed there, and no win.
        let mut mixed = better.clone();
        mixed
            .provenance
            .metrics
            .insert("songs_macro_f1".into(), serde_json::json!(0.39));
        let (text, won) = report("old", &base, "new", &mixed, &args(0.0)).unwrap();
        assert!(!won);
        assert!(
            text.contains("not better on every set: songs (mixed)"),
            "{text}"
        );
        // ...which a tolerance of 0.015 forgives.
        assert!(report("old", &base, "new", &mixed, &args(0.015)).unwrap().1);

        // Non-music over the limit, other windows, a set the candidate lacks.
        let mut apart = better.clone();
        let m = &mut apart.provenance.metrics;
        m.insert("noise_no_instrument_lit".into(), serde_json::json!(0.2));
        m.insert("stems_windows".into(), serde_json::json!(12));
        m.remove("other_map");
        m.remove("other_macro_f1");
        m.remove("other_windows");
        let (text, won) = report("old", &base, "new", &apart, &args(0.0)).unwrap();
        assert!(!won);
        assert!(text.contains("noise (lights too often)"), "{text}");
        assert!(
            text.contains("stems (not comparable: 12 windows against 10)"),
            "{text}"
        );
        assert!(
            text.contains("other (not comparable: only old was measured on it)"),
            "{text}"
        );
    }

    #[test]
    fn files_without_metrics_or_with_other_classes_are_refused() {
        let base = spec(serde_json::json!({"songs_map": 0.5, "songs_windows": 1}));
        let bare = spec(serde_json::json!({}));
        let err = report("old", &base, "new", &bare, &args(0.0)).unwrap_err();
        assert!(
            err.to_string().contains("new holds no held-out metrics"),
            "{err}"
        );
        let mut other = base.clone();
        other.classes.pop();
        let err = report("old", &base, "new", &other, &args(0.0)).unwrap_err();
        assert!(err.to_string().contains("different classes"), "{err}");
        let elsewhere = spec(serde_json::json!({"tests_map": 0.5, "tests_windows": 1}));
        let err = report("old", &base, "new", &elsewhere, &args(0.0)).unwrap_err();
        assert!(
            err.to_string().contains(
                "no held-out set was measured in both files: old has songs; new has tests"
            ),
            "{err}"
        );
    }
}
