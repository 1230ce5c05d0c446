//! `instrunet average` as a user runs it: the mean of weights files (or checkpoints) of one
//! network, a file that loads and describes its inputs; files of another network, a single file
//! or a file that is not weights are refused with a message naming the file.

mod cli;
use cli::{instrunet, text};

use std::path::Path;

use instrunet_model::Weights;

/// `instrunet average` of `inputs` into `out`.
fn average(inputs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec!["average"];
    for p in inputs {
        args.extend(["--weights", p.to_str().unwrap()]);
    }
    args.extend(["--out", out.to_str().unwrap()]);
    instrunet(&args)
}

#[test]
fn average_writes_the_mean_and_refuses_what_cannot_be_averaged() {
    let root = std::env::temp_dir().join(format!("instrunet-average-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    std::fs::create_dir_all(&root).unwrap();
    let shipped = Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS).unwrap();
    let (a, b, out) = (
        root.join("a.safetensors"),
        root.join("b.safetensors"),
        root.join("mean.safetensors"),
    );
    shipped.save(&a).unwrap();
    // The same network with every value tripled: the mean of the two is every value doubled.
    let mut tripled = shipped.clone();
    for (_, values) in tripled.tensors.0.values_mut() {
        values.iter_mut().for_each(|v| *v *= 3.0);
    }
    tripled.save(&b).unwrap();

    let run = average(&[&a, &b], &out);
    assert!(run.status.success(), "average: {}", text(&run));
    let mean = Weights::from_file(&out).unwrap();
    for (name, (shape, values)) in &mean.tensors.0 {
        let (s0, v0) = &shipped.tensors.0[name];
        assert_eq!(shape, s0, "{name}");
        for (m, v) in values.iter().zip(v0) {
            assert!(
                (m - 2.0 * v).abs() <= 1e-5 * (1.0 + v.abs()),
                "{name}: {m} vs 2 x {v}"
            );
        }
    }
    assert_eq!(mean.spec.classes, shipped.spec.classes);
    assert_eq!(mean.spec.thresholds, shipped.spec.thresholds);
    assert!(
        mean.spec.provenance.metrics.is_empty(),
        "stale metrics kept"
    );
    assert!(mean.spec.provenance.data.contains("a.safetensors"));
    let info = instrunet(&["info", out.to_str().unwrap()]);
    assert!(
        info.status.success() && text(&info).contains("the mean of 2"),
        "{}",
        text(&info)
    );

    // A training checkpoint (the network under `model.`, the optimiser's moments beside it) of
    // the tripled network averages as the tripled weights file did.
    let mut ckpt = std::collections::BTreeMap::new();
    for (name, v) in &tripled.tensors.0 {
        ckpt.insert(format!("model.{name}"), v.clone());
        ckpt.insert(format!("adam.m.{name}"), v.clone());
    }
    let ckpt_path = root.join("run.ckpt.safetensors");
    // A checkpoint that does not describe its data (whatever the shipped file's says), so that
    // its progress is what names it below.
    let mut ckpt_spec = shipped.spec.clone();
    ckpt_spec.provenance.data.clear();
    let checkpoint = Weights {
        spec: ckpt_spec,
        tensors: instrunet_model::TensorMap(ckpt),
    };
    checkpoint.save(&ckpt_path).unwrap();
    let out2 = root.join("mean-of-checkpoint.safetensors");
    let run = average(&[&a, &ckpt_path], &out2);
    assert!(
        run.status.success(),
        "average with a checkpoint: {}",
        text(&run)
    );
    assert_eq!(Weights::from_file(&out2).unwrap().tensors, mean.tensors);

    // The same checkpoint with its progress recorded (as `train` writes it), and --describe:
    // the mean's provenance names the run and the checkpoint's epochs.
    let progress = instrunet_training::train::checkpoint::CheckpointState {
        epochs_done: 9,
        step: 13_500,
        best_epoch: 9,
        best_map: 0.62,
        starting_map: None,
        normalization: shipped.spec.normalization,
        log: Vec::new(),
        config: Default::default(),
    };
    let ckpt9 = root.join("run9.ckpt.safetensors");
    checkpoint
        .save_with(
            &ckpt9,
            &[(
                "checkpoint".to_owned(),
                serde_json::to_string(&progress).unwrap(),
            )]
            .into(),
        )
        .unwrap();
    let out3 = root.join("mean-described.safetensors");
    let mut args = vec!["average", "--describe", "run 16, its last epochs"];
    for p in [&a, &ckpt9] {
        args.extend(["--weights", p.to_str().unwrap()]);
    }
    args.extend(["--out", out3.to_str().unwrap()]);
    let run = instrunet(&args);
    assert!(run.status.success(), "average --describe: {}", text(&run));
    let described = Weights::from_file(&out3).unwrap();
    assert_eq!(described.tensors, mean.tensors);
    let data = &described.spec.provenance.data;
    assert!(
        data.starts_with("run 16, its last epochs; the mean of 2"),
        "{data}"
    );
    assert!(data.contains("after epoch 9"), "{data}");
    assert_eq!(
        described.spec.provenance.epochs,
        shipped.spec.provenance.epochs.max(9)
    );

    // Another network (its classes in another order): refused, naming the file.
    let mut other = shipped.clone();
    other.spec.classes.swap(0, 1);
    let c = root.join("other-classes.safetensors");
    other.save(&c).unwrap();
    let bad = root.join("bad.safetensors");
    let run = average(&[&a, &c], &bad);
    assert!(!run.status.success());
    assert!(
        text(&run).contains("other-classes.safetensors") && text(&run).contains("classes"),
        "{}",
        text(&run)
    );
    assert!(!bad.exists(), "a refused average wrote a file");

    // One file alone, and a file that is not weights.
    let run = average(&[&a], &bad);
    assert!(
        !run.status.success() && text(&run).contains("at least two"),
        "{}",
        text(&run)
    );
    let junk = root.join("notes.safetensors");
    std::fs::write(&junk, b"not a weights file").unwrap();
    let run = average(&[&a, &junk], &bad);
    assert!(
        !run.status.success() && text(&run).contains("notes.safetensors"),
        "{}",
        text(&run)
    );
    std::fs::remove_dir_all(&root).ok();
}
