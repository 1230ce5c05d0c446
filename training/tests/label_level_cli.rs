//! `--active-dbfs` as a user gives it: the level from which a stem counts as playing. A higher
//! level labels fewer cells of the same tracks; a level at or above full scale is refused.

mod cli;
use cli::{instrunet, text};

/// The per-class table's Support column of an `eval` report, summed.
fn labelled_cells(report: &str) -> usize {
    report
        .lines()
        .skip_while(|l| !l.starts_with("| Class"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split('|')
                .nth(2)
                .unwrap()
                .trim()
                .parse::<usize>()
                .unwrap()
        })
        .sum()
}

#[test]
fn a_higher_label_level_labels_fewer_cells_and_full_scale_is_refused() {
    let root = std::env::temp_dir().join(format!("instrunet-label-level-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let data = root.join("songs");
    let out = instrunet(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--tracks",
        "2",
        "--seed",
        "41",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out));
    let cache = root.join("cache");
    let eval = |level: &str| {
        instrunet(&[
            "eval",
            "--cache",
            cache.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--split",
            "all",
            "--active-dbfs",
            level,
        ])
    };
    let (quiet, loud) = (eval("-60"), eval("-20"));
    assert!(quiet.status.success(), "{}", text(&quiet));
    assert!(loud.status.success(), "{}", text(&loud));
    let (at_60, at_20) = (labelled_cells(&text(&quiet)), labelled_cells(&text(&loud)));
    assert!(at_60 > 0, "{}", text(&quiet));
    assert!(
        at_20 < at_60,
        "-20 dBFS labelled {at_20} cells, -60 dBFS {at_60}"
    );
    let refused = eval("0");
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--active-dbfs must be a level below full scale"),
        "{}",
        text(&refused)
    );
    std::fs::remove_dir_all(&root).ok();
}
