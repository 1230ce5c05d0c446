//! The log-Mel front end against librosa 0.11.0 (`tools/librosa_reference.py` made the fixtures:
//! `melspectrogram(center=False, ...)` then `power_to_db(ref=1.0, amin=1e-10, top_db=None)`, in
//! float64). Requirement: max absolute error ≤ 0.01 dB wherever librosa's value is above -80 dB.

use std::path::PathBuf;

use instrunet_model::{MelFrontend, MelSettings};
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    librosa: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    config: Config,
    samples: usize,
    n_mels: usize,
    frames: usize,
}

#[derive(Deserialize)]
struct Config {
    sr: u32,
    n_fft: usize,
    hop_length: usize,
    n_mels: usize,
    fmin: f32,
    fmax: f32,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/librosa")
}

fn read_f32(path: &PathBuf) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn log_mel_matches_librosa_within_a_hundredth_of_a_db() {
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest.librosa, "0.11.0");
    assert_eq!(manifest.cases.len(), 8, "4 signals × 2 configurations");
    let mut report = Vec::new();
    for case in &manifest.cases {
        let c = &case.config;
        let settings = MelSettings {
            sample_rate: c.sr,
            n_fft: c.n_fft,
            hop_length: c.hop_length,
            n_mels: c.n_mels,
            fmin: c.fmin,
            fmax: c.fmax,
            window_frames: 128,
        };
        let input = read_f32(&fixtures().join(format!("{}.input.f32", case.name)));
        let reference = read_f32(&fixtures().join(format!("{}.mel_db.f32", case.name)));
        assert_eq!(input.len(), case.samples);
        assert_eq!(reference.len(), case.n_mels * case.frames);

        let mut fe = MelFrontend::new(&settings);
        assert_eq!(
            fe.frame_count(input.len()),
            case.frames,
            "{}: frame count",
            case.name
        );
        let ours = fe.spectrogram(&input); // time-major
        let (mut max_err, mut compared) = (0.0f32, 0usize);
        for t in 0..case.frames {
            for m in 0..case.n_mels {
                let want = reference[m * case.frames + t]; // librosa: (n_mels, frames)
                let got = ours[t * case.n_mels + m];
                assert!(
                    got.is_finite(),
                    "{}: non-finite at frame {t} band {m}",
                    case.name
                );
                if want > -80.0 {
                    max_err = max_err.max((got - want).abs());
                    compared += 1;
                } else {
                    // Below -80 dB only the floor must agree: both at or near -100.
                    assert!(
                        got < -70.0,
                        "{}: frame {t} band {m}: {got} vs librosa {want}",
                        case.name
                    );
                }
            }
        }
        report.push(format!(
            "{}: max |err| {max_err:.2e} dB over {compared} values",
            case.name
        ));
        assert!(max_err <= 0.01, "{}: max error {max_err} dB", case.name);
        if case.name.ends_with("silence") {
            assert_eq!(compared, 0);
            assert!(ours.iter().all(|&v| v == -100.0));
        } else {
            assert!(
                compared > case.n_mels * case.frames / 4,
                "{}: too few values compared",
                case.name
            );
        }
    }
    println!("{}", report.join("\n"));
}
