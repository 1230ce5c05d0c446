//! `instrunet eval`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use instrunet_model::{ModelSpec, NetworkKind, Weights};
use instrunet_training::data::dataset::WindowSet;
use instrunet_training::data::slakh::{Track, TrackDir, discover};
use instrunet_training::eval::metrics::{
    ClassSubset, Metrics, PAPER_CLASSES, class_columns, evaluate, false_alarms, select_classes,
};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::report::{
    markdown_false_alarms, predictions_csv, predictions_sidecar, sidecar_path,
};
use instrunet_training::eval::smooth::{
    Smoothing, segment_max, smooth_within_tracks, thresholds_tuned_on,
};
use instrunet_training::eval::study::{
    SoundAlikePrograms, StemInfo, Study, alike_classes, stems_of,
};
use instrunet_training::train::baseline::baseline_probabilities;

use crate::cli::common::{DataArgs, load_all_with_roots, threads, weights_or_embedded};

#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    /// InstruNET weights (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Baseline weights from `instrunet baseline`, shown side by side.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Which split to evaluate: test, validation, train or all.
    #[arg(long, default_value = "test")]
    split: String,
    /// Before thresholds and metrics, average each window's probabilities with up to B windows
    /// before and A after it in the same track (fewer at a track's ends): 2:0 is a causal mean of
    /// 3, 1:1 a centred mean of 3, 0:0 no smoothing.
    #[arg(long, default_value = "0:0", value_name = "B:A")]
    smooth: Smoothing,
    /// Score segments of this many consecutive windows of a track instead of windows (after
    /// --smooth, and on the --tune-on set alike): a segment's probability and label are its
    /// windows' largest. 3 at the default stride gives 3 s segments, as people's labels of
    /// songs usually are. 1: windows.
    #[arg(long, default_value_t = 1)]
    segments: usize,
    /// Measure at thresholds tuned for F1 on another set's predictions (smoothed alike) instead of
    /// the weights' own: a split of the same --data folders (validation, train, test or all), or
    /// any other path: a data folder, all of whose tracks are used.
    #[arg(long, value_name = "SET")]
    tune_on: Option<String>,
    /// Also print (and put in --json) where the errors come from: label cells at an on/off edge
    /// of their class, and whole tracks ranked by their highest and mean window probability.
    #[arg(long)]
    study: bool,
    /// With --study: also score the labels of stems whose SoundFont plays their program with the
    /// samples of another class's program (the pairs `instrunet data fonts` lists). Needs the
    /// fonts the tracks were rendered with (their metadata's plugin_name).
    #[arg(long, requires = "study")]
    sound_alikes: bool,
    /// Folder searched first for the SoundFonts named by the stems (then the training fonts'
    /// Debian paths).
    #[arg(long, requires = "sound_alikes")]
    fonts_dir: Option<PathBuf>,
    /// Score only these classes, as if the model knew no others (comma-separated names; `paper`:
    /// the five the paper's table was measured on, Piano, Guitar, Bass, Strings and Drums).
    #[arg(long, value_delimiter = ',', value_name = "CLASS,...")]
    classes: Vec<String>,
    /// Also write the metrics as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write every window's probabilities (after --smooth) and labels as CSV here (track,
    /// song, start in seconds, then a probability and a label column per scored class), for
    /// analyses of your own, and beside it FILE.json: the exact class names, stride, smoothing,
    /// thresholds, and each track's rows and stems.
    #[arg(long)]
    predictions: Option<PathBuf>,
}

/// Reads a weights file written by `instrunet baseline`.
fn load_baseline(path: &Path) -> anyhow::Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (spec, tensors) = Weights::parts_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(
        spec.network.kind == NetworkKind::Baseline,
        "{}: not baseline weights (its network kind is {}; `instrunet baseline` writes them)",
        path.display(),
        spec.network.kind
    );
    for (name, shape) in instrunet_training::train::baseline::Baseline::tensor_shapes(&spec) {
        let got = tensors.0.get(&name).map(|(s, _)| s.clone());
        anyhow::ensure!(
            got.as_ref() == Some(&shape),
            "{}: tensor {name} is {got:?}, expected {shape:?}",
            path.display()
        );
    }
    Ok(Weights { spec, tensors })
}

/// The splits a `--split` or `--tune-on` name covers, as indices into [train, validation, test];
/// `None` for a name that is not a split.
fn split_parts(name: &str) -> Option<&'static [usize]> {
    match name {
        "train" => Some(&[0]),
        "validation" => Some(&[1]),
        "test" => Some(&[2]),
        "all" => Some(&[0, 1, 2]),
        _ => None,
    }
}

/// A set's labels and tracks (its windows dropped once predicted), the probabilities of the model
/// and the baseline over all their classes, and the data root of each track.
#[derive(Clone)]
struct Predicted {
    set: WindowSet,
    ours: Vec<f32>,
    baseline: Option<Vec<f32>>,
    roots: Vec<usize>,
}

fn predict(
    mut set: WindowSet,
    roots: Vec<usize>,
    weights: &Weights,
    baseline: Option<&Weights>,
    threads: usize,
) -> anyhow::Result<Predicted> {
    let ours = predict_with(weights, &set, threads)?;
    let baseline = baseline
        .map(|b| baseline_probabilities(b, &set))
        .transpose()?;
    set.windows = Vec::new();
    Ok(Predicted {
        set,
        ours,
        baseline,
        roots,
    })
}

/// Predicted sets one after the other.
fn join(parts: Vec<Predicted>) -> Predicted {
    let mut parts = parts.into_iter();
    let mut all = parts.next().expect("a split names at least one part");
    for p in parts {
        all.set.append(p.set);
        all.ours.extend(p.ours);
        if let (Some(a), Some(b)) = (&mut all.baseline, p.baseline) {
            a.extend(b);
        }
        all.roots.extend(p.roots);
    }
    all
}

/// Each track's folder and its stems.
type TrackStems = (Vec<Option<String>>, Vec<Vec<StemInfo>>);

/// The track folder and stems of every track of `set` (`roots`: each track's index in `data`).
fn track_stems(data: &[PathBuf], set: &WindowSet, roots: &[usize]) -> anyhow::Result<TrackStems> {
    let mut found: HashMap<usize, HashMap<String, TrackDir>> = HashMap::new();
    let (mut folders, mut stems) = (Vec::new(), Vec::new());
    for (t, id) in set.tracks.iter().enumerate() {
        let r = roots[t];
        let dirs = match found.entry(r) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                discover(&data[r])?
                    .into_iter()
                    .map(|d| (d.id.clone(), d))
                    .collect(),
            ),
        };
        let dir = dirs
            .get(id)
            .with_context(|| format!("{id} is no longer in {}", data[r].display()))?;
        folders.push(Some(dir.path.display().to_string()));
        stems.push(stems_of(&Track::open(dir)?));
    }
    Ok((folders, stems))
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let weights = weights_or_embedded(args.weights.as_deref())?;
    let label = args
        .weights
        .as_ref()
        .map_or("InstruNET (embedded)".into(), |p| {
            p.file_name()
                .map_or("InstruNET".into(), |n| n.to_string_lossy().into_owned())
        });
    // The classes scored: all of the model's unless --classes names some.
    let wanted: Vec<String> = match args.classes.as_slice() {
        [] => weights.spec.classes.clone(),
        [p] if p.eq_ignore_ascii_case("paper") => {
            PAPER_CLASSES.iter().map(|c| c.to_string()).collect()
        }
        named => named.to_vec(),
    };
    // Checked before the data is read.
    class_columns(&weights.spec.classes, &wanted).map_err(|e| anyhow::anyhow!("--classes: {e}"))?;
    let eval_parts = split_parts(&args.split).with_context(|| {
        format!(
            "--split {}: expected test, validation, train or all",
            args.split
        )
    })?;
    let tune_parts = args.tune_on.as_deref().and_then(split_parts);
    if let Some(other) = args.tune_on.as_deref().filter(|_| tune_parts.is_none()) {
        anyhow::ensure!(
            Path::new(other).is_dir(),
            "--tune-on {other}: neither a split (validation, train, test, all) nor a data folder"
        );
    }
    let sidecar = args
        .predictions
        .as_deref()
        .map(sidecar_path)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--predictions {e}"))?;
    if let (Some(json), Some(side)) = (&args.json, &sidecar) {
        anyhow::ensure!(
            json != side,
            "--json {}: that is where the --predictions sidecar goes",
            json.display()
        );
    }
    let baseline_weights = args.baseline.as_deref().map(load_baseline).transpose()?;
    let threads = threads(&args.data);
    let (sets, roots) = load_all_with_roots(&args.data, &weights.spec)?;
    // Each split that is evaluated or tuned on, predicted once.
    let mut predicted: [Option<Predicted>; 3] = Default::default();
    for (i, (set, roots)) in sets.into_iter().zip(roots).enumerate() {
        if eval_parts.contains(&i) || tune_parts.is_some_and(|p| p.contains(&i)) {
            predicted[i] = Some(predict(
                set,
                roots,
                &weights,
                baseline_weights.as_ref(),
                threads,
            )?);
        }
    }
    let gather = |parts: &[usize]| {
        join(
            parts
                .iter()
                .map(|&i| predicted[i].clone().expect("predicted above"))
                .collect(),
        )
    };
    let eval = gather(eval_parts);
    let set = &eval.set;
    anyhow::ensure!(!set.is_empty(), "the {} split has no windows", args.split);
    let tune = match (&args.tune_on, tune_parts) {
        (None, _) => None,
        (Some(_), Some(parts)) => Some(gather(parts)),
        (Some(other), None) => {
            let mut data = args.data.clone();
            data.data = vec![PathBuf::from(other)];
            let (sets, roots) = load_all_with_roots(&data, &weights.spec)?;
            let parts = sets
                .into_iter()
                .zip(roots)
                .map(|(s, r)| predict(s, r, &weights, baseline_weights.as_ref(), threads))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some(join(parts))
        }
    };
    if let (Some(t), Some(name)) = (&tune, &args.tune_on) {
        anyhow::ensure!(!t.set.is_empty(), "--tune-on {name}: no windows");
    }
    let tuned_from = match (&tune, &args.tune_on) {
        (Some(t), Some(name)) => format!(
            "tuned for F1 on {name} ({} windows, {} tracks)",
            t.set.len(),
            t.set.tracks.len()
        ),
        _ => "weights".to_owned(),
    };
    // Everything below sees only the chosen classes' columns, smoothed, at the weights' own or
    // the tuned thresholds.
    let select = |probs: &[f32], set: &WindowSet, spec: &ModelSpec| {
        select_classes(probs, &set.labels, &spec.classes, &spec.thresholds, &wanted)
            .map_err(|e| anyhow::anyhow!("--classes: {e}"))
    };
    let scored = |probs: &[f32], tune_probs: Option<&[f32]>, spec: &ModelSpec| {
        let mut s: ClassSubset = select(probs, set, spec)?;
        let c = s.names.len();
        s.probs = smooth_within_tracks(&s.probs, c, &set.track_of, args.smooth);
        // With --segments the rows are segments: their tracks go with them.
        let rows_track_of;
        (s.probs, s.labels, rows_track_of) =
            segment_max(&s.probs, &s.labels, c, &set.track_of, args.segments);
        if let (Some(t), Some(tp)) = (&tune, tune_probs) {
            let on = select(tp, &t.set, spec)?;
            s.thresholds = thresholds_tuned_on(
                &on.probs,
                &on.labels,
                c,
                &t.set.track_of,
                args.smooth,
                args.segments,
            );
        }
        anyhow::Ok((s, rows_track_of))
    };
    let (ours, rows_track_of) = scored(
        &eval.ours,
        tune.as_ref().map(|t| t.ours.as_slice()),
        &weights.spec,
    )?;
    let metrics = evaluate(&ours.probs, &ours.labels, &ours.names, &ours.thresholds);
    let baseline = match (&baseline_weights, &eval.baseline) {
        (Some(b), Some(probs)) => {
            let tune_probs = tune.as_ref().and_then(|t| t.baseline.as_deref());
            let (s, _) = scored(probs, tune_probs, &b.spec)?;
            Some(evaluate(&s.probs, &s.labels, &s.names, &s.thresholds))
        }
        _ => None,
    };
    println!(
        "{} split: {} windows, {} tracks, {} songs{}\n",
        args.split,
        set.len(),
        set.tracks.len(),
        set.songs.len(),
        if args.classes.is_empty() {
            String::new()
        } else {
            format!("; scored on {} only", ours.names.join(", "))
        }
    );
    if args.segments > 1 {
        println!(
            "Scored in segments of {} windows of a track, each the max of its windows (--segments): the \"Windows\" rows below count segments.\n",
            args.segments
        );
    }
    if !args.smooth.is_none() {
        println!(
            "Probabilities averaged with up to {} windows before and {} after in the same track (--smooth {}).\n",
            args.smooth.before, args.smooth.after, args.smooth
        );
    }
    let listed: Vec<String> = ours
        .names
        .iter()
        .zip(&ours.thresholds)
        .map(|(n, t)| format!("{n} {t:.2}"))
        .collect();
    println!(
        "Thresholds ({}): {}\n",
        if tune.is_some() {
            tuned_from.as_str()
        } else {
            "the weights' own"
        },
        listed.join(", ")
    );
    let mut columns: Vec<(&str, &Metrics)> = Vec::new();
    if let Some(b) = &baseline {
        columns.push(("Baseline (feed-forward)", b));
    }
    columns.push((label.as_str(), &metrics));
    println!("{}", Metrics::markdown_summary(&columns));
    println!("{label}, per class:\n\n{}", metrics.markdown_classes());
    let alarms = false_alarms(&ours.probs, &ours.labels, &ours.names, &ours.thresholds);
    println!(
        "{label}, false alarms (what played when a class was reported but absent):\n\n{}",
        markdown_false_alarms(&alarms)
    );
    // The tracks' stems, for the sidecar and the shared-sample study.
    let stems = if args.predictions.is_some() || args.sound_alikes {
        let (folders, mut stems) = track_stems(&args.data.data, set, &eval.roots)?;
        if args.sound_alikes {
            let mut fonts = SoundAlikePrograms::new(args.fonts_dir.as_deref());
            for (t, s) in stems.iter_mut().enumerate() {
                fonts
                    .mark(&set.tracks[t], s)
                    .map_err(|e| anyhow::anyhow!("--sound-alikes: {e}"))?;
            }
        }
        Some((folders, stems))
    } else {
        None
    };
    let study = args.study.then(|| {
        let alike: Option<Vec<Vec<bool>>> = stems
            .as_ref()
            .filter(|_| args.sound_alikes)
            .map(|(_, s)| s.iter().map(|s| alike_classes(s, &ours.names)).collect());
        Study::compute(
            &ours.probs,
            &ours.labels,
            &ours.names,
            &ours.thresholds,
            &rows_track_of,
            alike.as_deref(),
        )
    });
    if let Some(study) = &study {
        println!(
            "{label}, where the errors come from:\n\n{}",
            study.markdown()
        );
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "split": args.split,
            "windows": set.len(),
            "songs": set.songs.len(),
            "model": label,
            "classes": ours.names,
            "smoothing": args.smooth,
            "thresholds": ours.thresholds,
            "thresholds_from": tuned_from,
            "metrics": metrics,
            "baseline": baseline,
            "false_alarms": alarms,
            "study": study,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let (Some(path), Some(side), Some((folders, stems))) = (&args.predictions, &sidecar, &stems)
    {
        let mel = &weights.spec.mel;
        // Seconds between the starts of a track's rows: windows, or segments of them.
        let stride_s = (args.data.stride * args.segments.max(1) * mel.hop_length) as f64
            / mel.sample_rate as f64;
        let csv = predictions_csv(
            set,
            &rows_track_of,
            &ours.probs,
            &ours.labels,
            &ours.names,
            stride_s,
        );
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let sidecar = predictions_sidecar(
            &name,
            set,
            &rows_track_of,
            &ours.names,
            stride_s,
            args.smooth,
            &ours.thresholds,
            &tuned_from,
            folders,
            stems,
        );
        std::fs::write(side, serde_json::to_string_pretty(&sidecar)?)
            .with_context(|| format!("writing {}", side.display()))?;
        println!("wrote {} and {}", path.display(), side.display());
    }
    Ok(())
}
