//! `instrunet deepen` as a user runs it: the shipped weights with a block added after their last
//! compute what they did (on the CPU path the plugin runs), say so in `info`, deepen again with
//! the numbering continued; more blocks than a file may hold, and a file that is not weights, are
//! refused with messages that name them.

mod cli;
use cli::{instrunet, text};

use instrunet_model::cpu::CpuNet;
use instrunet_model::{NetworkShape, Weights};

fn logits(w: &Weights, windows: &[f32], n: usize) -> Vec<f32> {
    let net = CpuNet::new(w);
    let mut scratch = vec![net.scratch()];
    let mut out = vec![0.0; n * net.n_classes()];
    net.logits_batch(windows, n, 1, &mut scratch, &mut out)
        .unwrap();
    out
}

#[test]
fn deepen_keeps_the_function_and_refuses_what_it_cannot_do() {
    let root = std::env::temp_dir().join(format!("instrunet-deepen-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let data = root.join("songs");
    let out = instrunet(&[
        "synth",
        "--out",
        data.join("train").to_str().unwrap(),
        "--tracks",
        "2",
        "--seed",
        "43",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out));
    let shipped_path = root.join("shipped.safetensors");
    let shipped = Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS).unwrap();
    shipped.save(&shipped_path).unwrap();
    let cache = root.join("cache");
    let deepen = |weights: &std::path::Path, add: &str, out: &std::path::Path| {
        instrunet(&[
            "deepen",
            "--weights",
            weights.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--add",
            add,
            "--windows",
            "32",
            "--out",
            out.to_str().unwrap(),
        ])
    };

    // The shipped network may already have blocks after the third: counted from what it has.
    let had = shipped.spec.network.extra_blocks;
    let deep_path = root.join("deep.safetensors");
    let run = deepen(&shipped_path, "1", &deep_path);
    assert!(run.status.success(), "deepen: {}", text(&run));
    assert!(
        text(&run).contains(&format!("1 block(s) added after block {}", 3 + had)),
        "{}",
        text(&run)
    );
    let deep = Weights::from_file(&deep_path).unwrap();
    assert_eq!(deep.spec.network.extra_blocks, had + 1);
    assert_eq!(deep.spec.thresholds, shipped.spec.thresholds);
    assert!(deep.spec.provenance.data.contains("instrunet deepen"));
    // Same logits on windows it never measured statistics on (the identity does not depend on
    // them), within rounding.
    let n = 3;
    let mut state = 7u32;
    let windows: Vec<f32> = (0..n * shipped.spec.mel.window_len())
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            -90.0 * (state >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect();
    let (before, after) = (logits(&shipped, &windows, n), logits(&deep, &windows, n));
    let err = before
        .iter()
        .zip(&after)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-3, "logits moved by {err}");
    let info = instrunet(&["info", deep_path.to_str().unwrap()]);
    assert!(
        info.status.success()
            && text(&info).contains(&format!("{} more of 256 without pooling", had + 1)),
        "{}",
        text(&info)
    );

    // Again, up to the limit: the numbering goes on from the last block.
    let deeper_path = root.join("deeper.safetensors");
    let to_limit = NetworkShape::MAX_EXTRA_BLOCKS - (had + 1);
    assert!(
        to_limit >= 1,
        "the shipped network leaves no room to deepen twice"
    );
    let run = deepen(&deep_path, &to_limit.to_string(), &deeper_path);
    assert!(run.status.success(), "deepen again: {}", text(&run));
    let deeper = Weights::from_file(&deeper_path).unwrap();
    assert_eq!(
        deeper.spec.network.extra_blocks,
        NetworkShape::MAX_EXTRA_BLOCKS
    );
    let last = 3 + NetworkShape::MAX_EXTRA_BLOCKS;
    assert!(
        deeper
            .tensors
            .values(&format!("conv{last}.weight"))
            .is_some()
    );
    assert!(
        deeper
            .tensors
            .values(&format!("conv{}.weight", last + 1))
            .is_none()
    );

    // Past the limit: refused, naming the option and the limit; nothing written.
    let refused_path = root.join("refused.safetensors");
    let run = deepen(&deeper_path, "2", &refused_path);
    assert!(!run.status.success());
    assert!(
        text(&run).contains("--add 2") && text(&run).contains("at most 4"),
        "{}",
        text(&run)
    );
    assert!(!refused_path.exists());

    // Not a weights file: named.
    let junk = root.join("junk.safetensors");
    std::fs::write(&junk, b"not weights").unwrap();
    let run = deepen(&junk, "1", &refused_path);
    assert!(!run.status.success());
    assert!(text(&run).contains("junk.safetensors"), "{}", text(&run));
    std::fs::remove_dir_all(&root).ok();
}
