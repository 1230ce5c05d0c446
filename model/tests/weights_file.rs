//! The weights file: save → load round trip, the embedded default, PyTorch tensor names, and every
//! kind of bad file, each giving its own typed error (never a panic).

use std::collections::HashMap;

use instrunet_model::shape::tensor_shapes;
use instrunet_model::{
    Classifier, DEFAULT_WEIGHTS, ModelSpec, NetworkKind, Provenance, Weights, WeightsError,
};
use safetensors::tensor::{Dtype, TensorView};

fn sample() -> Weights {
    let mut w = Weights::random(ModelSpec::new_default(Provenance::default()), 7);
    // Non-trivial BatchNorm statistics, so that a lost running mean or variance shows.
    for (name, (_, values)) in w.tensors.0.iter_mut() {
        if name.contains("running_var") {
            values
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = 0.5 + i as f32 * 0.01);
        } else if name.contains("running_mean") {
            values
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = -0.2 + i as f32 * 0.003);
        }
    }
    w.spec.thresholds[3] = 0.35;
    w.spec.normalization.mean = -37.5;
    w
}

/// Writes safetensors bytes from (name, dtype, shape, raw bytes) with the given metadata.
fn raw_file(
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    meta: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, meta).unwrap()
}

/// The sample's tensors as raw entries, for editing.
fn entries(w: &Weights) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    w.tensors
        .0
        .iter()
        .map(|(n, (s, v))| {
            (
                n.clone(),
                Dtype::F32,
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect()
}

fn load(bytes: &[u8]) -> Result<Weights, WeightsError> {
    Weights::from_bytes(bytes)
}

#[test]
fn save_then_load_is_bit_exact() {
    let w = sample();
    let bytes = w.to_bytes().unwrap();
    let back = load(&bytes).unwrap();
    assert_eq!(back.spec, w.spec);
    for (name, (shape, values)) in &w.tensors.0 {
        let (s2, v2) = &back.tensors.0[name];
        assert_eq!(shape, s2);
        assert!(
            values
                .iter()
                .zip(v2)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
    }
    // Writing again gives the same bytes.
    assert_eq!(back.to_bytes().unwrap(), bytes);
    // Through a file too.
    let dir = std::env::temp_dir().join(format!("instrunet-wt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.safetensors");
    w.save(&path).unwrap();
    assert_eq!(Weights::from_file(&path).unwrap(), w);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tensor_names_follow_pytorch() {
    let names: Vec<String> = tensor_shapes(&ModelSpec::new_default(Provenance::default()))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for want in [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "conv3.weight",
        "fc1.weight",
        "fc2.bias",
    ] {
        assert!(names.iter().any(|n| n == want), "{want}");
    }
    assert_eq!(names.len(), 3 * 6 + 4);
    let shapes: HashMap<_, _> = tensor_shapes(&ModelSpec::new_default(Provenance::default()))
        .into_iter()
        .collect();
    assert_eq!(shapes["conv2.weight"], vec![64, 32, 3, 3]);
    assert_eq!(shapes["fc1.weight"], vec![256, 128]);
    assert_eq!(shapes["fc2.weight"], vec![14, 256]);
}

#[test]
fn the_embedded_default_loads_and_describes_itself() {
    let w = load(DEFAULT_WEIGHTS).expect("embedded default weights");
    assert_eq!(w.spec.classes.len(), 14);
    assert_eq!(w.spec.mel.window_frames, 128);
    assert!(!w.spec.provenance.data.is_empty());
    let c = Classifier::embedded_default();
    assert_eq!(c.n_classes(), 14);
}

#[test]
fn batchnorm_running_statistics_survive_the_round_trip_and_change_the_output() {
    let w = sample();
    let back = load(&w.to_bytes().unwrap()).unwrap();
    let window: Vec<f32> = (0..128 * 128)
        .map(|i| -50.0 + (i % 97) as f32 * 0.5)
        .collect();
    let (mut a, mut b) = (vec![0.0; 14], vec![0.0; 14]);
    Classifier::new(&w, &candle_core::Device::Cpu)
        .unwrap()
        .predict(&window, &mut a)
        .unwrap();
    Classifier::new(&back, &candle_core::Device::Cpu)
        .unwrap()
        .predict(&window, &mut b)
        .unwrap();
    assert_eq!(a, b);
    let mut reset = back.clone();
    for (name, (_, v)) in reset.tensors.0.iter_mut() {
        if name.contains("running_var") {
            v.fill(1.0);
        }
    }
    let mut c = vec![0.0; 14];
    Classifier::new(&reset, &candle_core::Device::Cpu)
        .unwrap()
        .predict(&window, &mut c)
        .unwrap();
    assert_ne!(a, c, "running statistics must matter");
}

#[test]
fn truncated_and_foreign_files_are_not_safetensors() {
    let bytes = sample().to_bytes().unwrap();
    for cut in [0, 4, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        match load(&bytes[..cut]) {
            Err(WeightsError::NotSafetensors(_)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    for junk in [&b"{\"hello\": 1}"[..], b"RIFF....WAVEfmt ", &[0xff; 64]] {
        assert!(matches!(load(junk), Err(WeightsError::NotSafetensors(_))));
    }
}

#[test]
fn a_missing_file_names_its_path() {
    let err = Weights::from_file("/nonexistent/instrunet.safetensors").unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }));
    assert!(
        err.to_string()
            .contains("/nonexistent/instrunet.safetensors")
    );
}

#[test]
fn missing_and_extra_tensors_are_named() {
    let w = sample();
    let meta = Some(w.spec.to_metadata());
    let mut e = entries(&w);
    e.retain(|(n, ..)| n != "bn2.running_var");
    match load(&raw_file(&e, meta.clone())) {
        Err(WeightsError::MissingTensor(n)) => assert_eq!(n, "bn2.running_var"),
        other => panic!("{other:?}"),
    }
    let mut e = entries(&w);
    e.push((
        "bn1.num_batches_tracked_typo".into(),
        Dtype::F32,
        vec![1],
        vec![0; 4],
    ));
    match load(&raw_file(&e, meta)) {
        Err(WeightsError::UnexpectedTensor(n)) => assert_eq!(n, "bn1.num_batches_tracked_typo"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_shapes_and_dtypes_are_named() {
    let w = sample();
    let meta = Some(w.spec.to_metadata());
    let mut e = entries(&w);
    let conv = e.iter_mut().find(|(n, ..)| n == "conv2.weight").unwrap();
    conv.2 = vec![64, 32, 9];
    match load(&raw_file(&e, meta.clone())) {
        Err(WeightsError::Shape {
            tensor,
            expected,
            got,
        }) => {
            assert_eq!(tensor, "conv2.weight");
            assert_eq!(expected, vec![64, 32, 3, 3]);
            assert_eq!(got, vec![64, 32, 9]);
        }
        other => panic!("{other:?}"),
    }
    let mut e = entries(&w);
    let fc = e.iter_mut().find(|(n, ..)| n == "fc1.bias").unwrap();
    fc.1 = Dtype::F16;
    fc.2 = vec![512];
    match load(&raw_file(&e, meta)) {
        Err(WeightsError::DType { tensor, .. }) => assert_eq!(tensor, "fc1.bias"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_class_count_mismatch_is_reported_as_such() {
    let w = sample();
    // Thirteen classes in the metadata, fourteen outputs in the tensors.
    let mut spec = w.spec.clone();
    spec.classes.pop();
    spec.thresholds.pop();
    match load(&raw_file(&entries(&w), Some(spec.to_metadata()))) {
        Err(WeightsError::ClassCount {
            expected: 13,
            got: 14,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn nan_and_inf_values_are_named() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut w = sample();
        w.tensors.0.get_mut("fc1.weight").unwrap().1[77] = bad;
        match load(&raw_file(&entries(&w), Some(w.spec.to_metadata()))) {
            Err(WeightsError::NonFinite { tensor, index, .. }) => {
                assert_eq!(tensor, "fc1.weight");
                assert_eq!(index, 77);
            }
            other => panic!("{bad}: {other:?}"),
        }
        // Writing such weights is refused as well.
        assert!(Weights::new(w.spec.clone(), w.tensors.clone()).is_err());
    }
}

#[test]
fn missing_metadata_and_unknown_versions_are_refused() {
    let w = sample();
    assert!(matches!(
        load(&raw_file(&entries(&w), None)),
        Err(WeightsError::MissingMetadata(_))
    ));
    let mut meta = w.spec.to_metadata();
    meta.remove("classes");
    match load(&raw_file(&entries(&w), Some(meta))) {
        Err(WeightsError::MissingMetadata(k)) => assert_eq!(k, "classes"),
        other => panic!("{other:?}"),
    }
    let mut meta = w.spec.to_metadata();
    meta.insert("format_version".into(), "99".into());
    assert!(matches!(
        load(&raw_file(&entries(&w), Some(meta))),
        Err(WeightsError::UnsupportedVersion { found: 99, .. })
    ));
}

#[test]
fn a_bad_file_falls_back_to_the_embedded_default_and_says_why() {
    let dir = std::env::temp_dir().join(format!("instrunet-fb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.safetensors");
    std::fs::write(&path, b"not weights at all").unwrap();
    let (c, why) = Classifier::from_file_or_default(&path);
    assert_eq!(c.spec(), Classifier::embedded_default().spec());
    assert!(matches!(why, Some(WeightsError::NotSafetensors(_))));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_baseline_file_is_refused_by_name_and_still_readable_as_parts() {
    let mut w = sample();
    w.spec.network.kind = NetworkKind::Baseline;
    let bytes = raw_file(&entries(&w), Some(w.spec.to_metadata()));
    let err = load(&bytes).unwrap_err();
    assert!(
        matches!(&err, WeightsError::NotInstruNet(kind) if kind == "baseline"),
        "{err}"
    );
    assert!(err.to_string().contains("baseline"), "{err}");
    let (spec, _) = Weights::parts_from_bytes(&bytes).unwrap();
    assert_eq!(spec.network.kind, NetworkKind::Baseline);
}

#[test]
fn extra_metadata_entries_travel_with_the_spec_and_may_not_replace_it() {
    let w = sample();
    let extra: std::collections::BTreeMap<String, String> =
        [("checkpoint".to_owned(), "{\"step\": 7}".to_owned())].into();
    let bytes = w.to_bytes_with(&extra).unwrap();
    assert_eq!(
        Weights::metadata_from_bytes(&bytes).unwrap()["checkpoint"],
        "{\"step\": 7}"
    );
    assert_eq!(load(&bytes).unwrap().spec, w.spec);
    let clash: std::collections::BTreeMap<String, String> =
        [("classes".to_owned(), "[]".to_owned())].into();
    let err = w.to_bytes_with(&clash).unwrap_err();
    assert!(
        matches!(&err, WeightsError::BadMetadata { key, .. } if key == "classes"),
        "{err}"
    );
}
