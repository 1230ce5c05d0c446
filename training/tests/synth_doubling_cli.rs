//! `instrunet synth --doubling` on score pieces, as a user runs it: `--arrange` gives a piece's
//! voices new programs and then parts doubling some of them on other classes (stems of their own
//! in the track); without `--arrange` the files are rendered as written, so `--doubling` is
//! refused with a message that names it.

mod cli;
use cli::{instrunet, text};

use instrunet_training::synth::midi::{Note, StemNotes, stems_to_midi};

/// A three-voice piece as a score export writes it: every voice on program 0, in its own track.
fn write_piece(dir: &std::path::Path) {
    let voices: Vec<StemNotes> = [(0u8, 43u8), (1, 55), (2, 67)]
        .into_iter()
        .map(|(channel, base)| StemNotes {
            channel,
            program: 0,
            is_drum: false,
            notes: (0..24)
                .map(|i| Note {
                    start: i as f64 * 0.25,
                    end: i as f64 * 0.25 + 0.24,
                    key: base + [0, 2, 4, 5, 7, 5, 4, 2][i % 8],
                    velocity: 90,
                })
                .collect(),
        })
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("piece.mid"), stems_to_midi(&voices)).unwrap();
}

fn stems_in(track: &std::path::Path) -> usize {
    std::fs::read_dir(track.join("MIDI")).unwrap().count()
}

#[test]
fn arranged_pieces_get_doubling_stems_and_unarranged_ones_refuse_doubling() {
    let root = std::env::temp_dir().join(format!("instrunet-doubling-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let midi = root.join("midi");
    write_piece(&midi);
    let synth = |out: &str, extra: &[&str]| {
        let out = root.join(out);
        let mut args = vec![
            "synth",
            "--midi-dir",
            midi.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--seed",
            "5",
        ];
        args.extend(extra);
        (instrunet(&args), out.join("Track00001"))
    };

    let (out, plain) = synth("plain", &["--arrange"]);
    assert!(out.status.success(), "synth --arrange: {}", text(&out));
    assert_eq!(stems_in(&plain), 3);

    let (out, doubled) = synth("doubled", &["--arrange", "--doubling", "1"]);
    assert!(
        out.status.success(),
        "synth --arrange --doubling 1: {}",
        text(&out)
    );
    let n = stems_in(&doubled);
    assert!(
        (4..=6).contains(&n),
        "{n} stems: 3 voices and 1-3 doublings"
    );
    // The voices keep their arrangement: the same programs as without doubling.
    let programs = |track: &std::path::Path| {
        let meta = std::fs::read_to_string(track.join("metadata.yaml")).unwrap();
        let mut p: Vec<String> = meta
            .lines()
            .filter(|l| l.trim_start().starts_with("program_num:"))
            .map(|l| l.trim().to_string())
            .collect();
        p.sort();
        p
    };
    let (a, b) = (programs(&plain), programs(&doubled));
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|p| b.contains(p)), "{a:?} not all in {b:?}");

    let (out, _) = synth("refused", &["--doubling", "0.5"]);
    let said = text(&out);
    assert!(!out.status.success());
    assert!(said.contains("--doubling"), "{said}");
    assert!(
        !root.join("refused").exists(),
        "nothing written when refused"
    );
    std::fs::remove_dir_all(&root).ok();
}
