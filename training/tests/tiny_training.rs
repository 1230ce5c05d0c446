//! A tiny training run, as CI can afford: a few composed tracks, a few dozen steps. The loss on
//! the training windows falls, and the trained weights (BatchNorm running statistics included)
//! survive save → load exactly.

use instrunet_model::{Classifier, ModelSpec, Normalization, Provenance, Weights};
use instrunet_training::data::dataset::{LoadOptions, load};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::synth::compose::{compose, song_seed};
use instrunet_training::synth::fonts::Font;
use instrunet_training::synth::render::render_track;
use instrunet_training::train::config::TrainConfig;
use instrunet_training::train::{Progress, train};

#[test]
fn a_few_steps_lower_the_loss_and_the_weights_round_trip() {
    let root = std::env::temp_dir().join(format!("instrunet-tiny-training-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let font = Font::load(std::path::Path::new(
        instrunet_training::synth::fonts::FLUID_R3_GM,
    ))
    .expect("the test command installs fluid-soundfont-gm");
    for i in 0..10u64 {
        let song = compose(song_seed(424_242, i));
        render_track(
            &song.to_midi(),
            &format!("composer:{i}"),
            std::slice::from_ref(&font),
            16_000,
            i,
            false,
            &data,
            &format!("Track{:05}", i + 1),
        )
        .unwrap();
    }
    let spec = ModelSpec::new_default(Provenance::default());
    let mut options = LoadOptions::default();
    options.windows.stride_frames = 128;
    let ([train_set, validation, _test], _) =
        load(&data, &root.join("cache"), &spec, &options, &|_, _| {}).unwrap();
    assert!(
        train_set.len() > 50 && !validation.is_empty(),
        "{} / {}",
        train_set.len(),
        validation.len()
    );
    let config = TrainConfig {
        epochs: 2,
        steps_per_epoch: Some(25),
        batch: 16,
        lr: 2e-3,
        patience: 10,
        ..Default::default()
    };
    // The untrained network, with the run's normalisation: the starting loss.
    let mut start_spec = spec.clone();
    start_spec.normalization = instrunet_training::train::normalization_of(&train_set);
    let start = Weights::random(start_spec, config.seed);
    let before = instrunet_model::loss::bce_of_probabilities(
        &predict_with(&start, &train_set, 2).unwrap(),
        &train_set.labels,
    );
    let mut steps = 0;
    let outcome = train(
        &spec,
        &train_set,
        &validation,
        &config,
        None,
        None,
        false,
        &mut |p| {
            if let Progress::Step { .. } = p {
                steps += 1
            }
        },
    )
    .unwrap();
    assert_eq!(steps, 50);
    let probs = predict_with(&outcome.weights, &train_set, 2).unwrap();
    let after = instrunet_model::loss::bce_of_probabilities(&probs, &train_set.labels);
    assert!(
        after < 0.85 * before,
        "training-set BCE {before:.4} → {after:.4}"
    );
    // BatchNorm's running statistics moved away from their initial 0 / 1 ...
    let mean = outcome.weights.tensors.values("bn1.running_mean").unwrap();
    assert!(mean.iter().any(|&v| v.abs() > 1e-3));
    // ... and everything survives the file.
    let path = root.join("tiny.safetensors");
    outcome.weights.save(&path).unwrap();
    let loaded = Weights::from_file(&path).unwrap();
    assert_eq!(loaded, outcome.weights);
    let mut classifier = Classifier::from_file(&path).unwrap();
    let again = classifier
        .predict_batch(&train_set.windows_f32(0, 4), 4)
        .unwrap();
    assert_eq!(again[..], probs[..4 * spec.n_classes()]);

    // Fine-tuning (`train --init`) starts from the given weights and keeps the input
    // normalisation they were trained with, not the new data's.
    let mut start_spec = loaded.spec.clone();
    start_spec.normalization = Normalization {
        mean: -31.0,
        std: 17.0,
    };
    let start = Weights {
        spec: start_spec.clone(),
        tensors: loaded.tensors.clone(),
    };
    let nudge = TrainConfig {
        epochs: 1,
        steps_per_epoch: Some(2),
        lr: 1e-9,
        ..config.clone()
    };
    let tuned = train(
        &start_spec,
        &train_set,
        &validation,
        &nudge,
        Some(&start),
        None,
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(tuned.weights.spec.normalization, start_spec.normalization);
    for name in ["conv1.weight", "conv3.weight", "fc2.weight"] {
        let moved = max_difference(&start, &tuned.weights, name);
        assert!(
            moved < 1e-5,
            "{name} moved by {moved} in two steps at lr 1e-9"
        );
    }
    // A fine-tune keeps its starting weights (here the trained ones) unless an epoch beats them
    // on validation: with no epoch at all they come back unchanged, and so they do after steps
    // large enough to wreck the network (lr 5).
    for (epochs, lr) in [(0, 1e-9), (1, 5.0)] {
        let wreck = TrainConfig {
            epochs,
            steps_per_epoch: Some(3),
            lr,
            dropout: 0.0,
            ..config.clone()
        };
        let mut notes = Vec::new();
        let kept = train(
            &loaded.spec,
            &train_set,
            &validation,
            &wreck,
            Some(&loaded),
            None,
            false,
            &mut |p| {
                if let Progress::Note(n) = p {
                    notes.push(n)
                }
            },
        )
        .unwrap();
        assert_eq!(
            kept.best_epoch, 0,
            "{epochs} epoch(s) at lr {lr}: {notes:?}"
        );
        assert_eq!(kept.log.len(), epochs);
        assert_eq!(kept.weights.tensors, loaded.tensors);
        assert!(
            notes.iter().any(|n| n.contains("keeping them")),
            "{notes:?}"
        );
        // The last epoch, when there is one, comes back beside them (here the wrecked network).
        match (epochs, &kept.last) {
            (0, None) => {}
            (1, Some(last)) => {
                assert_eq!(last.spec.provenance.epochs, 1);
                assert_ne!(last.tensors, loaded.tensors);
                assert_eq!(last.spec.thresholds.len(), loaded.spec.n_classes());
            }
            (n, last) => panic!("{n} epoch(s): last epoch's weights {}", last.is_some()),
        }
    }
    // Weights of another network are refused with a message that says so.
    let mut other = start_spec.clone();
    other.network.pool_bands = 4;
    let err = train(
        &start_spec,
        &train_set,
        &validation,
        &nudge,
        Some(&Weights::random(other, 1)),
        None,
        false,
        &mut |_| {},
    )
    .err()
    .expect("a network of another shape is refused");
    assert!(err.to_string().contains("another model"), "{err}");

    // A run interrupted in its third epoch and resumed from its checkpoint ends exactly where
    // an uninterrupted run does (no dropout: candle draws its masks from an unseeded generator).
    let three = TrainConfig {
        epochs: 3,
        steps_per_epoch: Some(8),
        dropout: 0.0,
        keep_epochs_from: Some(2),
        ..config.clone()
    };
    let straight = train(
        &spec,
        &train_set,
        &validation,
        &three,
        None,
        None,
        false,
        &mut |_| {},
    )
    .unwrap();
    let ckpt = root.join("run.ckpt.safetensors");
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(
            &spec,
            &train_set,
            &validation,
            &three,
            None,
            Some(&ckpt),
            false,
            &mut |p| {
                if let Progress::Step { epoch: 2, .. } = p {
                    panic!("interrupted on purpose in the third epoch")
                }
            },
        )
    }));
    assert!(interrupted.is_err());
    // The checkpoint is a weights file: its header says what it holds.
    let header = Weights::spec_from_bytes(&std::fs::read(&ckpt).unwrap()).unwrap();
    assert_eq!(header.classes, spec.classes);
    let mut steps = 0;
    let resumed = train(
        &spec,
        &train_set,
        &validation,
        &three,
        None,
        Some(&ckpt),
        true,
        &mut |p| {
            if let Progress::Step { .. } = p {
                steps += 1
            }
        },
    )
    .unwrap();
    assert_eq!(steps, 8, "only the third epoch runs again");
    assert_eq!(resumed.log.len(), 3);
    // --keep-epochs-from 2: epochs 2 (before the interruption) and 3 (after the resume) are
    // kept beside the checkpoint, each a weights file of its epoch; epoch 3's is the network
    // the final checkpoint holds.
    let epoch = |n| instrunet_training::train::checkpoint::epoch_path(&ckpt, n);
    assert!(!epoch(1).exists(), "epoch 1 kept before --keep-epochs-from");
    for n in [2, 3] {
        let kept = Weights::from_file(epoch(n)).unwrap();
        assert_eq!(kept.spec.provenance.epochs, n as u32);
        assert!(
            kept.spec
                .provenance
                .data
                .starts_with(&format!("epoch {n} of"))
        );
    }
    let (_, in_checkpoint) = Weights::parts_from_bytes(&std::fs::read(&ckpt).unwrap()).unwrap();
    let third = Weights::from_file(epoch(3)).unwrap();
    for (name, (_, values)) in &third.tensors.0 {
        assert_eq!(
            &in_checkpoint.0[&format!("model.{name}")].1,
            values,
            "{name}"
        );
    }
    // Every epoch's losses and validation score, the third's (trained after the resume) too.
    for (a, b) in straight.log.iter().zip(&resumed.log) {
        assert_eq!(
            (a.step, a.train_loss, a.val_loss, a.val_map),
            (b.step, b.train_loss, b.val_loss, b.val_map),
            "epoch {}",
            a.epoch
        );
    }
    assert_eq!(resumed.best_epoch, straight.best_epoch);
    for name in straight.weights.tensors.0.keys() {
        let diff = max_difference(&straight.weights, &resumed.weights, name);
        assert!(
            diff < 1e-6,
            "{name}: resumed differs from straight by {diff}"
        );
    }
    assert_eq!(
        resumed.weights.spec.thresholds,
        straight.weights.spec.thresholds
    );
    // A resume told to validate on other windows (timbres changed) than the run did is refused:
    // its epochs would be judged against a best found on different windows.
    let err = train(
        &spec,
        &train_set,
        &validation,
        &TrainConfig {
            val_timbre_eq_db: 8.0,
            ..three.clone()
        },
        None,
        Some(&ckpt),
        true,
        &mut |_| {},
    )
    .err()
    .expect("a resume with another validation is refused");
    assert!(
        err.to_string().contains("--val-timbre-eq-db 0") && err.to_string().contains("by 8"),
        "{err}"
    );
    // Likewise a resume with another loss: its steps so far descended another objective.
    let asymmetric = TrainConfig {
        neg_focus: 4.0,
        neg_margin: 0.05,
        ..three.clone()
    };
    let err = train(
        &spec,
        &train_set,
        &validation,
        &asymmetric,
        None,
        Some(&ckpt),
        true,
        &mut |_| {},
    )
    .err()
    .expect("a resume with another loss is refused");
    assert!(
        err.to_string().contains("--neg-focus 0") && err.to_string().contains("with 4 and 0.05"),
        "{err}"
    );
    // The asymmetric loss trains the same network on the same batches: a loss of its own that
    // falls, and weights of their own.
    let shaped = train(
        &spec,
        &train_set,
        &validation,
        &asymmetric,
        None,
        None,
        false,
        &mut |_| {},
    )
    .unwrap();
    let losses: Vec<f64> = shaped.log.iter().map(|e| e.train_loss).collect();
    assert!(
        losses.iter().all(|l| l.is_finite()) && losses[2] < losses[0],
        "{losses:?}"
    );
    assert_ne!(losses[0], straight.log[0].train_loss);
    assert!(max_difference(&shaped.weights, &straight.weights, "fc2.weight") > 1e-4);
    // Resuming a file that is no checkpoint says so and names it.
    let not_a_checkpoint = root.join("tiny.safetensors");
    let err = train(
        &spec,
        &train_set,
        &validation,
        &three,
        None,
        Some(&not_a_checkpoint),
        true,
        &mut |_| {},
    )
    .err()
    .expect("weights without progress are not a checkpoint");
    assert!(
        err.to_string().contains("not a training checkpoint")
            && err.to_string().contains("tiny.safetensors"),
        "{err}"
    );
    std::fs::remove_dir_all(&root).ok();
}

/// The largest difference between the values of tensor `name` in two sets of weights.
fn max_difference(a: &Weights, b: &Weights, name: &str) -> f32 {
    let (a, b) = (
        a.tensors.values(name).unwrap(),
        b.tensors.values(name).unwrap(),
    );
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}
