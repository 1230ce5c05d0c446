//! `instrunet synth --more-parts`, as a user runs it: composed songs gain parts of classes they
//! already have (stems of their own in the track, the song's own stems unchanged), and where
//! there is no composed song of people's roles to add to (MIDI files, `--roles family`) it is
//! refused with a message that names it, before anything is written.

mod cli;
use cli::{instrunet, text};

/// The (class, program, MIDI file bytes) of each stem of a track, in stem order.
fn stems(track: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    let meta = std::fs::read_to_string(track.join("metadata.yaml")).unwrap();
    let field = |name: &str| -> Vec<String> {
        meta.lines()
            .filter(|l| l.trim_start().starts_with(name))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let (classes, programs) = (field("inst_class:"), field("program_num:"));
    assert_eq!(classes.len(), programs.len());
    let mut midi: Vec<_> = std::fs::read_dir(track.join("MIDI"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    midi.sort();
    assert_eq!(programs.len(), midi.len(), "{}", track.display());
    classes
        .into_iter()
        .zip(programs)
        .zip(midi.iter().map(|p| std::fs::read(p).unwrap()))
        .map(|((c, p), m)| (c, p, m))
        .collect()
}

#[test]
fn composed_songs_gain_parts_of_their_classes_and_other_sources_refuse_it() {
    let root = std::env::temp_dir().join(format!("instrunet-more-parts-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let synth = |out: &str, extra: &[&str]| {
        let out = root.join(out);
        let mut args = vec![
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--tracks",
            "3",
            "--seed",
            "7",
        ];
        args.extend(extra);
        (instrunet(&args), out)
    };

    let (out, plain) = synth("plain", &["--priors", "real", "--dry"]);
    assert!(out.status.success(), "synth: {}", text(&out));
    let (out, more) = synth("more", &["--priors", "real", "--dry", "--more-parts", "1"]);
    assert!(out.status.success(), "synth --more-parts 1: {}", text(&out));
    let mut added = 0;
    for t in ["Track00001", "Track00002", "Track00003"] {
        let (a, b) = (stems(&plain.join(t)), stems(&more.join(t)));
        // The song's own stems keep their programs and notes (stems are in channel order, so an
        // added one can come before the drum kit's); each added stem plays a class the song has.
        assert!(
            b.len() >= a.len(),
            "{t}: {} stems, {} before",
            b.len(),
            a.len()
        );
        if let Some((class, program, _)) = a.iter().find(|s| !b.contains(s)) {
            panic!("{t}: the song's own {class} stem ({program}) changed");
        }
        for (class, _, _) in b.iter().filter(|s| !a.contains(s)) {
            assert!(
                a.iter().any(|(c, _, _)| c == class),
                "{t}: added {class}, not in the song"
            );
        }
        added += b.len() - a.len();
    }
    assert!(added > 0, "--more-parts 1 added no stem to 3 songs");

    for (name, extra) in [
        ("family", vec!["--roles", "family", "--more-parts", "0.5"]),
        (
            "midi",
            vec!["--midi-dir", "/nonexistent", "--more-parts", "0.5"],
        ),
    ] {
        let (out, dir) = synth(name, &extra);
        let said = text(&out);
        assert!(!out.status.success(), "{name}: {said}");
        assert!(said.contains("--more-parts"), "{name}: {said}");
        assert!(!dir.exists(), "{name}: nothing written when refused");
    }
    std::fs::remove_dir_all(&root).ok();
}
