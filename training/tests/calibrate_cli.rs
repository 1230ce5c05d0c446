//! `instrunet calibrate` as a user runs it: it writes a copy of the weights with its choice of
//! causal mean and thresholds, records the held-out folders it is given under their names, and
//! drops the metrics the file held before (they were measured at other thresholds).

mod cli;
use cli::{instrunet, text};

use std::path::Path;

#[test]
fn calibrate_records_held_out_folders_and_drops_stale_metrics() {
    let root = std::env::temp_dir().join(format!("instrunet-calibrate-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let (tune, held) = (root.join("tune"), root.join("held-out"));
    for (dir, seed) in [(&tune, "31"), (&held, "32")] {
        let out = instrunet(&[
            "synth",
            "--out",
            dir.to_str().unwrap(),
            "--tracks",
            "3",
            "--seed",
            seed,
        ]);
        assert!(out.status.success(), "synth: {}", text(&out));
    }
    // Calibrate the embedded model, measured on `held-out`; then calibrate that file again,
    // measured on `tune`: the second file holds only the second set's metrics.
    let cache = root.join("cache");
    let calibrate = |weights: Option<&Path>, test: &Path, out: &Path| {
        let mut args = vec![
            "calibrate",
            "--cache",
            cache.to_str().unwrap(),
            "--data",
            tune.to_str().unwrap(),
            "--split",
            "all",
            "--causal",
            "0,1",
            "--test",
            test.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(w) = weights {
            args.extend(["--weights", w.to_str().unwrap()]);
        }
        instrunet(&args)
    };
    let first = root.join("first.safetensors");
    let out = calibrate(None, &held, &first);
    let said = text(&out);
    assert!(out.status.success(), "calibrate: {said}");
    assert!(said.contains("held-out held-out ("), "{said}");
    let info = text(&instrunet(&["info", first.to_str().unwrap()]));
    for key in [
        "held-out_map",
        "held-out_macro_f1",
        "held-out_macro_precision",
        "held-out_macro_recall",
        "held-out_windows",
    ] {
        assert!(info.contains(key), "{key} missing: {info}");
    }
    assert!(!info.contains("test_map"), "stale metrics kept: {info}");
    assert!(info.contains("Calibrated on"), "{info}");
    let second = root.join("second.safetensors");
    let out = calibrate(Some(&first), &tune, &second);
    assert!(out.status.success(), "calibrate: {}", text(&out));
    let info = text(&instrunet(&["info", second.to_str().unwrap()]));
    assert!(info.contains("tune_map"), "{info}");
    assert!(!info.contains("held-out_map"), "stale metrics kept: {info}");

    // A held-out folder that is not there: an error naming it, and no weights written.
    let missing = root.join("no-such-folder");
    let bad_out = root.join("bad.safetensors");
    let out = calibrate(None, &missing, &bad_out);
    assert!(!out.status.success());
    assert!(text(&out).contains("no-such-folder"), "{}", text(&out));
    assert!(!Path::new(&bad_out).exists());
    std::fs::remove_dir_all(&root).ok();
}
