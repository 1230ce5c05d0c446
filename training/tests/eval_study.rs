//! `instrunet eval --smooth --tune-on --study --sound-alikes --predictions` and `instrunet data
//! solo`, through the library API the command uses, on a few tracks rendered with the training
//! SoundFonts and the embedded model.

use std::path::PathBuf;

use instrunet_model::Weights;
use instrunet_training::data::dataset::{LoadOptions, WindowSet, load};
use instrunet_training::data::slakh::{Split, Track, TrackDir, discover};
use instrunet_training::data::solo::solo_set;
use instrunet_training::data::split::{SplitFractions, assign_song};
use instrunet_training::eval::metrics::{evaluate, tune_thresholds};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::report::{predictions_csv, predictions_sidecar};
use instrunet_training::eval::smooth::{
    Smoothing, segment_max, smooth_within_tracks, thresholds_tuned_on, track_runs,
};
use instrunet_training::eval::study::{SoundAlikePrograms, Study, alike_classes, stems_of};
use instrunet_training::synth::compose::{compose, song_seed};
use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
use instrunet_training::synth::render::render_track;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("instrunet-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn all(sets: [WindowSet; 3]) -> WindowSet {
    let [mut a, b, c] = sets;
    a.append(b);
    a.append(c);
    a
}

#[test]
fn smoothing_tuning_study_sidecar_and_solo_set_on_rendered_tracks() {
    let root = temp_dir("eval-study");
    let data = root.join("data");
    let fonts: Vec<Font> = installed_training_soundfonts()
        .expect("the test command installs the fonts")
        .iter()
        .map(|p| Font::load(p).unwrap())
        .collect();
    // Song names (the split is drawn from the song) for three training and two other tracks.
    let split_of = |name: &str| {
        let dir = TrackDir {
            id: String::new(),
            path: PathBuf::new(),
            split: None,
        };
        assign_song(&dir, name, &SplitFractions::default())
    };
    let names_for = |train: bool, n: usize| {
        (0..)
            .map(|j| format!("composer:study{j}"))
            .filter(|s| (split_of(s) == Split::Train) == train)
            .take(n)
            .collect::<Vec<_>>()
    };
    let mut songs = names_for(true, 3);
    songs.extend(names_for(false, 2));
    for (i, source) in (0u64..).zip(&songs) {
        let song = compose(song_seed(5150, i));
        render_track(
            &song.to_midi(),
            source,
            &fonts,
            16_000,
            song_seed(77, i),
            false,
            &data,
            &format!("Track{:05}", i + 1),
        )
        .unwrap();
    }
    let weights = Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS).unwrap();
    let spec = &weights.spec;
    let names = &spec.classes;
    let c = names.len();
    let options = LoadOptions {
        threads: 2,
        ..Default::default()
    };
    let (sets, _) = load(&data, &root.join("cache"), spec, &options, &|_, _| {}).unwrap();
    let [train, validation, test] = sets.clone();
    eprintln!(
        "windows: train {}, validation {}, test {}",
        train.len(),
        validation.len(),
        test.len()
    );
    assert!(
        !train.is_empty() && train.tracks.len() == 3,
        "{:?}",
        train.tracks
    );
    let set = all([train.clone(), validation, test]);
    assert_eq!(set.tracks.len(), 5);
    let raw = predict_with(&weights, &set, 2).unwrap();

    // --smooth 1:1: every window is the mean of itself and its neighbours in its own track.
    let smoothing: Smoothing = "1:1".parse().unwrap();
    let probs = smooth_within_tracks(&raw, c, &set.track_of, smoothing);
    let runs = track_runs(&set.track_of);
    assert_eq!(runs.len(), 5);
    for run in &runs {
        let (a, b) = (run.start, run.end);
        for k in 0..c {
            let first = (raw[a * c + k] + raw[(a + 1) * c + k]) / 2.0;
            let last = (raw[(b - 2) * c + k] + raw[(b - 1) * c + k]) / 2.0;
            let mid = (raw[a * c + k] + raw[(a + 1) * c + k] + raw[(a + 2) * c + k]) / 3.0;
            assert!((probs[a * c + k] - first).abs() < 1e-5);
            assert!((probs[(b - 1) * c + k] - last).abs() < 1e-5);
            assert!((probs[(a + 1) * c + k] - mid).abs() < 1e-5);
        }
    }

    // --tune-on train: thresholds from the training split's smoothed predictions.
    let train_raw = predict_with(&weights, &train, 2).unwrap();
    let tuned = thresholds_tuned_on(&train_raw, &train.labels, c, &train.track_of, smoothing, 1);
    let train_smoothed = smooth_within_tracks(&train_raw, c, &train.track_of, smoothing);
    let at_tuned = evaluate(&train_smoothed, &train.labels, names, &tuned);
    let at_own = evaluate(&train_smoothed, &train.labels, names, &spec.thresholds);
    for (t, o) in at_tuned.classes.iter().zip(&at_own.classes) {
        // On the set they were tuned on, tuned thresholds are at least as good as any other on
        // the 0.02 grid (the weights' own are on it).
        if t.support > 0 {
            assert!(t.f1 >= o.f1 - 1e-9, "{}: {} < {}", t.class, t.f1, o.f1);
        }
    }
    assert_ne!(
        tuned,
        tune_thresholds(&probs, &set.labels, c),
        "tuned on the training split only, not on every track"
    );
    let metrics = evaluate(&probs, &set.labels, names, &tuned);
    for (m, t) in metrics.classes.iter().zip(&tuned) {
        assert_eq!(m.threshold, *t);
    }

    // --study --sound-alikes.
    let dirs = discover(&data).unwrap();
    let mut stems: Vec<_> = set
        .tracks
        .iter()
        .map(|id| {
            let dir = dirs.iter().find(|d| &d.id == id).unwrap();
            stems_of(&Track::open(dir).unwrap())
        })
        .collect();
    let mut programs = SoundAlikePrograms::new(None);
    for (id, s) in set.tracks.iter().zip(&mut stems) {
        programs.mark(id, s).unwrap();
    }
    let mut flagged = 0;
    for stem in stems.iter().flatten() {
        let font = fonts
            .iter()
            .find(|f| f.path.file_name().unwrap().to_str() == stem.font.as_deref())
            .unwrap();
        let alike = !stem.is_drum
            && font
                .sound_alikes(0.5)
                .iter()
                .any(|p| p.programs.contains(&stem.program));
        assert_eq!(stem.sound_alike, Some(alike), "{stem:?}");
        flagged += alike as usize;
    }
    let alike: Vec<Vec<bool>> = stems.iter().map(|s| alike_classes(s, names)).collect();
    let study = Study::compute(
        &probs,
        &set.labels,
        names,
        &tuned,
        &set.track_of,
        Some(&alike),
    );
    let e = &study.edges;
    assert_eq!(e.cells, set.labels.len());
    assert!(e.edge_cells > 0 && e.edge_cells < e.cells, "{e:?}");
    assert!(e.errors_at_edges <= e.errors && e.errors > 0, "{e:?}");
    let w = &study.whole_tracks;
    assert_eq!(w.tracks, 5);
    assert!(!w.classes.is_empty());
    assert!(w.map_by_highest.unwrap() > 0.0 && w.map_by_highest.unwrap() <= 1.0);
    let a = study.sound_alikes.as_ref().unwrap();
    assert!(a.melodic_labels > 0);
    if alike.iter().flatten().any(|&x| x) {
        assert!(a.cells > 0, "{a:?}");
    } else {
        assert_eq!(a.cells, 0);
    }
    eprintln!("{flagged} sound-alike stems\n{}", study.markdown());

    // --predictions: the CSV and its sidecar agree row for row.
    let csv = predictions_csv(&set, &set.track_of, &probs, &set.labels, names, 1.024);
    let folders: Vec<Option<String>> = vec![None; set.tracks.len()];
    let sidecar = predictions_sidecar(
        "p.csv",
        &set,
        &set.track_of,
        names,
        1.024,
        smoothing,
        &tuned,
        "tuned for F1 on train",
        &folders,
        &stems,
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(
        sidecar.tracks.iter().map(|t| t.rows).sum::<usize>(),
        rows.len()
    );
    for t in &sidecar.tracks {
        for row in &rows[t.first_row..t.first_row + t.rows] {
            assert!(row.starts_with(&format!("{},", t.name)), "{row}");
        }
        assert!(!t.stems.is_empty());
    }
    assert_eq!(&sidecar.classes, names);
    assert!(sidecar.classes.iter().any(|n| n.contains(' ')));

    // --segments 3 with --predictions and --study: the rows are segments, each with its own
    // track (this once indexed windows with segments' rows and panicked).
    let (seg_probs, seg_labels, seg_track_of) =
        segment_max(&probs, &set.labels, c, &set.track_of, 3);
    let expected: usize = runs.iter().map(|r| r.len().div_ceil(3)).sum();
    assert_eq!(seg_track_of.len(), expected);
    let seg_csv = predictions_csv(&set, &seg_track_of, &seg_probs, &seg_labels, names, 3.072);
    let seg_rows: Vec<&str> = seg_csv.lines().skip(1).collect();
    assert_eq!(seg_rows.len(), expected);
    assert!(seg_rows[1].contains(",3.072,"), "{}", seg_rows[1]);
    let seg_sidecar = predictions_sidecar(
        "s.csv",
        &set,
        &seg_track_of,
        names,
        3.072,
        smoothing,
        &tuned,
        "weights",
        &folders,
        &stems,
    );
    assert_eq!(seg_sidecar.tracks.len(), 5);
    for t in &seg_sidecar.tracks {
        for row in &seg_rows[t.first_row..t.first_row + t.rows] {
            assert!(row.starts_with(&format!("{},", t.name)), "{row}");
        }
    }
    let seg_study = Study::compute(&seg_probs, &seg_labels, names, &tuned, &seg_track_of, None);
    assert_eq!(seg_study.whole_tracks.tracks, 5);

    // data solo: one track per stem, each labelled with its own stem's class at most.
    let solo = root.join("solo");
    let n = solo_set(&data, &solo).unwrap();
    assert_eq!(n, stems.iter().map(Vec::len).sum::<usize>());
    let solo_set_windows = all(load(&solo, &root.join("cache"), spec, &options, &|_, _| {})
        .unwrap()
        .0);
    assert_eq!(solo_set_windows.tracks.len(), n);
    // Each stem lasts as long as its mix: as many windows as its source track, per stem.
    let per_source: usize = runs
        .iter()
        .zip(&stems)
        .map(|(run, s)| run.len() * s.len())
        .sum();
    assert_eq!(solo_set_windows.len(), per_source);
    let solo_dirs = discover(&solo).unwrap();
    for run in track_runs(&solo_set_windows.track_of) {
        let id = &solo_set_windows.tracks[solo_set_windows.track_of[run.start] as usize];
        let track = Track::open(solo_dirs.iter().find(|d| &d.id == id).unwrap()).unwrap();
        let own = names
            .iter()
            .position(|n| n == track.stems[0].class.name())
            .unwrap();
        for w in run {
            for k in (0..c).filter(|&k| k != own) {
                assert_eq!(solo_set_windows.labels[w * c + k], 0.0, "{id} class {k}");
            }
        }
    }
    std::fs::remove_dir_all(&root).ok();
}
