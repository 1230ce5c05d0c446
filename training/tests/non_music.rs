//! Non-music tracks (`instrunet synth --non-music`): written in the Slakh layout with no stems,
//! read back by the same reader, every window labelled "no instrument"; speech comes from
//! espeak-ng in the voices drawn.

use instrunet_model::{ModelSpec, Provenance};
use instrunet_training::data::slakh::{Track, discover};
use instrunet_training::data::windows::{WindowSettings, track_windows};
use instrunet_training::synth::negatives::{NonMusic, render_non_music, render_non_music_track};
use rand::SeedableRng;

#[test]
fn non_music_tracks_read_back_with_no_instrument_in_any_window() {
    let dir = std::env::temp_dir().join(format!("instrunet-non-music-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let spec = ModelSpec::new_default(Provenance::default());
    let mut kinds = Vec::new();
    for i in 0..4u64 {
        let (meta, seconds) =
            render_non_music_track(1_000 + i, 48_000, &dir, &format!("Track{:05}", i + 1)).unwrap();
        assert!(meta.stems.is_empty());
        assert!((20.0..50.0).contains(&seconds), "{seconds} s");
        kinds.push(meta.non_music.expect("says what it holds"));
    }
    let tracks = discover(&dir).unwrap();
    assert_eq!(tracks.len(), 4);
    for (t, what) in tracks.iter().zip(&kinds) {
        let track = Track::open(t).unwrap();
        let windows = track_windows(&track, &spec, &WindowSettings::default()).unwrap();
        assert!(windows.len() > 5, "{what}: {} windows", windows.len());
        assert!(
            windows.labels.iter().all(|&l| l == 0.0),
            "{what}: a window has an instrument"
        );
    }
    // Each track is its own song, so that the split spreads them.
    let songs: std::collections::BTreeSet<_> = tracks
        .iter()
        .map(|t| Track::open(t).unwrap().metadata.lmd_midi_dir.unwrap())
        .collect();
    assert_eq!(songs.len(), 4);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn speech_is_spoken_by_espeak_ng_and_fills_the_length_asked_for() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let (x, what) = render_non_music(NonMusic::Speech, 8.0, 16_000, &mut rng).unwrap();
    assert_eq!(x.len(), 128_000);
    assert!(what.contains("espeak-ng voices"), "{what}");
    // Speech has pauses: some 50 ms frames are far quieter than the loudest.
    let frames: Vec<f64> = x
        .chunks(800)
        .map(|c| c.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / c.len() as f64)
        .collect();
    let loudest = frames.iter().cloned().fold(0.0, f64::max);
    assert!(loudest > 1e-5, "silent speech: {what}");
    assert!(
        frames.iter().any(|&f| f < loudest * 1e-3),
        "no pause in 8 s of speech: {what}"
    );
}
