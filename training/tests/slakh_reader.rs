//! The Slakh reader on the real layout (fixtures copied from `shared/slakh-fixtures`): BabySlakh's
//! flat WAV layout, Slakh2100's split folders with FLAC, a listed stem with no file, and every kind
//! of bad data, each giving an error that names the file.

use std::path::{Path, PathBuf};

use instrunet_model::InstrumentClass as C;
use instrunet_training::DataError;
use instrunet_training::data::check::check;
use instrunet_training::data::slakh::{Split, Track, TrackDir, discover};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn baby() -> PathBuf {
    fixtures().join("babyslakh_16k")
}

/// A fresh copy of BabySlakh's Track00001 under a temporary root, to break.
fn scratch_track(test: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("instrunet-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let track = root.join("Track00001");
    copy_dir(&baby().join("Track00001"), &track);
    (root, track)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
            let mut perm = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).unwrap();
        }
    }
}

/// A 16-bit PCM mono WAV file of `n` samples at `rate`.
fn write_wav(path: &Path, n: usize, rate: u32) {
    let data_len = (n * 2) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..n {
        b.extend_from_slice(&(((i % 100) as i16 - 50) * 100).to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

fn open_one(root: &Path) -> Result<Track, DataError> {
    let dirs = discover(root)?;
    Track::open(&dirs[0])
}

#[test]
fn babyslakh_track_reads_with_classes_and_a_missing_stem() {
    let dirs = discover(&baby()).unwrap();
    assert_eq!(
        dirs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["Track00001", "Track00007"]
    );
    assert!(dirs.iter().all(|d| d.split.is_none()));
    let track = Track::open(&dirs[0]).unwrap();
    assert_eq!(track.metadata.stems.len(), 11);
    assert_eq!(track.stems.len(), 10, "S06 is listed but has no file");
    assert_eq!(track.missing_stems, ["S06"]);
    let class = |name: &str| track.stems.iter().find(|s| s.name == name).unwrap().class;
    assert_eq!(class("S00"), C::Guitar);
    assert_eq!(class("S01"), C::Drums);
    assert_eq!(class("S02"), C::Piano);
    assert_eq!(class("S03"), C::Bass);
    assert_eq!(class("S09"), C::Organ); // Harmonica is in the Organ family in General MIDI
    // BabySlakh says audio_rendered: false for stems that exist; the files decide.
    assert_eq!(track.metadata.stems["S00"].audio_rendered, Some(false));
    let (mix, stems) = track.load_audio().unwrap();
    assert_eq!(mix.sample_rate, 16_000);
    assert!(mix.samples.len() > 16_000);
    assert_eq!(stems.len(), 10);
    assert!(stems.iter().all(|s| s.samples.len() == mix.samples.len()));
}

#[test]
fn slakh2100_split_folders_and_flac_read() {
    let root = fixtures().join("slakh2100_flac_redux");
    let dirs = discover(&root).unwrap();
    assert_eq!(
        dirs,
        [TrackDir {
            id: "Track00001".into(),
            path: root.join("train/Track00001"),
            split: Some(Split::Train)
        }]
    );
    let track = Track::open(&dirs[0]).unwrap();
    // Slakh2100 names audio_dir relative to the split folder ("Track00001/stems").
    assert_eq!(track.metadata.audio_dir, "Track00001/stems");
    assert_eq!(track.stems.len(), 10);
    assert!(
        track
            .stems
            .iter()
            .all(|s| s.audio_path.extension().unwrap() == "flac")
    );
    let (mix, stems) = track.load_audio().unwrap();
    assert!(mix.samples.iter().any(|&v| v != 0.0));
    assert!(stems.iter().all(|s| s.sample_rate == mix.sample_rate));
}

#[test]
fn missing_metadata_names_the_file() {
    let dirs = discover(&baby()).unwrap();
    match Track::open(&dirs[1]) {
        Err(e @ DataError::Io { .. }) => {
            assert!(e.to_string().contains("Track00007/metadata.yaml"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_yaml_and_unknown_classes_are_named() {
    let (root, track) = scratch_track("yaml");
    let meta = track.join("metadata.yaml");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("stems:", "stems: [")).unwrap();
    match open_one(&root) {
        Err(e @ DataError::Metadata { .. }) => {
            assert!(e.to_string().contains("metadata.yaml"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(
        &meta,
        text.replacen("inst_class: Piano", "inst_class: piano", 1),
    )
    .unwrap();
    match open_one(&root) {
        Err(DataError::Stem { stem, reason, .. }) => {
            assert_eq!(stem, "S02");
            assert!(reason.contains("\"piano\""), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn truncated_non_audio_and_mismatched_stems_are_named() {
    let (root, track) = scratch_track("audio");
    let stem = track.join("stems/S03.wav");
    let good = std::fs::read(&stem).unwrap();
    std::fs::write(&stem, &good[..good.len() / 2]).unwrap();
    match open_one(&root).unwrap().load_audio() {
        Err(e @ DataError::Audio { .. }) => assert!(e.to_string().contains("S03.wav"), "{e}"),
        other => panic!("truncated: {other:?}"),
    }
    std::fs::write(&stem, b"this is not a wave file at all, just text").unwrap();
    assert!(matches!(
        open_one(&root).unwrap().load_audio(),
        Err(DataError::Audio { .. })
    ));
    write_wav(&stem, 1000, 16_000);
    match open_one(&root).unwrap().load_audio() {
        Err(DataError::LengthMismatch { path, samples, .. }) => {
            assert!(path.ends_with("stems/S03.wav"));
            assert_eq!(samples, 1000);
        }
        other => panic!("mismatch: {other:?}"),
    }
    std::fs::remove_file(track.join("mix.wav")).unwrap();
    assert!(matches!(open_one(&root), Err(DataError::MissingMix { .. })));
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn an_empty_root_has_no_tracks() {
    let root = std::env::temp_dir().join(format!("instrunet-empty-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    assert!(matches!(discover(&root), Err(DataError::NoTracks { .. })));
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn data_check_counts_and_skips_bad_tracks() {
    assert!(
        check(&baby(), false).is_err(),
        "Track00007 has no metadata.yaml"
    );
    let summary = check(&baby(), true).unwrap();
    assert_eq!(summary.good_tracks(), 1);
    assert_eq!(summary.problems.len(), 1);
    assert_eq!(summary.missing_stems, 1);
    assert_eq!(summary.stems_per_class[&C::Guitar], 3);
    assert_eq!(summary.stems_per_class[&C::Organ], 3);
    assert_eq!(summary.tracks_per_class[&C::Drums], 1);
    let text = summary.to_string();
    assert!(text.contains("1 readable, 1 with problems"), "{text}");
    assert!(text.contains("Track00007/metadata.yaml"), "{text}");
}

#[test]
fn fixture_tracks_cut_into_labelled_windows_at_the_model_rate() {
    use instrunet_model::{ModelSpec, Provenance};
    use instrunet_training::data::windows::{WindowSettings, track_windows};
    // The fixtures' clips are 2 s long, shorter than a default window: use 64-frame windows.
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.mel.window_frames = 64;
    let settings = WindowSettings {
        stride_frames: 16,
        active_dbfs: -60.0,
    };
    for root in [baby(), fixtures().join("slakh2100_flac_redux")] {
        let track = Track::open(&discover(&root).unwrap()[0]).unwrap();
        let w = track_windows(&track, &spec, &settings).unwrap();
        assert!(w.len() >= 3, "{}: {} windows", root.display(), w.len());
        assert_eq!(w.windows.len(), w.len() * 128 * 64);
        assert!(w.windows.iter().all(|v| v.is_finite()));
        let stem_classes: Vec<usize> = track
            .stems
            .iter()
            .map(|s| {
                spec.classes
                    .iter()
                    .position(|c| c == s.class.name())
                    .unwrap()
            })
            .collect();
        for row in w.labels.chunks_exact(spec.n_classes()) {
            for (c, &v) in row.iter().enumerate() {
                assert!(
                    v == 0.0 || stem_classes.contains(&c),
                    "class {c} has no stem"
                );
            }
        }
        let present: Vec<String> = (0..spec.n_classes())
            .filter(|&c| w.labels.chunks_exact(spec.n_classes()).any(|r| r[c] == 1.0))
            .map(|c| spec.classes[c].clone())
            .collect();
        // In these clips only S00 (Guitar) holds sound; every other stem is digital silence, so
        // its class must be absent although metadata.yaml lists it.
        assert_eq!(present, ["Guitar"], "{}", root.display());
        let guitar = spec.classes.iter().position(|c| c == "Guitar").unwrap();
        assert!(
            w.labels
                .chunks_exact(spec.n_classes())
                .all(|r| r[guitar] == 1.0)
        );
    }
}

#[test]
fn the_window_cache_is_reused_and_invalidated() {
    use instrunet_model::{ModelSpec, Provenance};
    use instrunet_training::data::cache::{CacheStatus, WindowCache};
    use instrunet_training::data::windows::WindowSettings;
    let (root, track_dir) = scratch_track("cache");
    let cache = WindowCache::new(root.join("cache")).unwrap();
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.mel.window_frames = 64;
    let settings = WindowSettings {
        stride_frames: 16,
        active_dbfs: -60.0,
    };
    let track = open_one(&root).unwrap();
    let (first, status) = cache.load_or_compute(&track, &spec, &settings).unwrap();
    assert_eq!(status, CacheStatus::Miss);
    let (again, status) = cache.load_or_compute(&track, &spec, &settings).unwrap();
    assert_eq!(status, CacheStatus::Hit);
    assert!(again == first, "cached windows come back bit for bit");
    // Other window settings or front-end settings: recomputed.
    let other = WindowSettings {
        stride_frames: 8,
        ..settings
    };
    assert_eq!(
        cache.load_or_compute(&track, &spec, &other).unwrap().1,
        CacheStatus::Miss
    );
    let mut spec2 = spec.clone();
    spec2.mel.n_mels = 64;
    assert_eq!(
        cache.load_or_compute(&track, &spec2, &settings).unwrap().1,
        CacheStatus::Miss
    );
    // Changed data: recomputed, and only the newest entry stays on disk.
    assert_eq!(
        cache.load_or_compute(&track, &spec, &settings).unwrap().1,
        CacheStatus::Miss
    );
    // S00 (the only stem with sound) replaced by a silent stem: the Guitar labels must go.
    std::fs::copy(
        track_dir.join("stems/S01.wav"),
        track_dir.join("stems/S00.wav"),
    )
    .unwrap();
    let track = open_one(&root).unwrap();
    let (changed, status) = cache.load_or_compute(&track, &spec, &settings).unwrap();
    assert_eq!(status, CacheStatus::Miss);
    assert!(first.labels.contains(&1.0));
    assert!(
        changed.labels.iter().all(|&v| v == 0.0),
        "stale labels came back from the cache"
    );
    assert_eq!(std::fs::read_dir(root.join("cache")).unwrap().count(), 1);
    // A damaged cache file is recomputed, not trusted.
    let entry = std::fs::read_dir(root.join("cache"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&entry, b"garbage").unwrap();
    assert_eq!(
        cache.load_or_compute(&track, &spec, &settings).unwrap().1,
        CacheStatus::Miss
    );
    // A cache that cannot be written (a full disk; here a file where its folder was): the windows
    // still come, computed, with the reason naming the file.
    std::fs::remove_dir_all(root.join("cache")).unwrap();
    std::fs::write(root.join("cache"), b"not a folder").unwrap();
    let (unstored, status) = cache.load_or_compute(&track, &spec, &settings).unwrap();
    assert!(
        unstored == changed,
        "the computed windows, as a stored miss gives"
    );
    match status {
        CacheStatus::Unstored(why) => assert!(why.contains("cache"), "{why}"),
        other => panic!("expected Unstored, got {other:?}"),
    }
    std::fs::remove_dir_all(&root).ok();
}
