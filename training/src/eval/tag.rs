//! `instrunet tag DIR`: names the instrument in each audio file of a folder of stems.
//!
//! Each file runs through the same streaming engine and centred average as `instrunet analyze`
//! ([`crate::eval::analyze::analyze`]). An analysis speaks for the hop-long stretch at the centre of its
//! window; a stretch *sounds* when its RMS level reaches `silence_db`. A class's share is the
//! part of the sounding stretches in which it is active (its averaged probability at or over the
//! model's threshold). The main class is the one with the largest share; where shares tie, or no
//! class reaches `min_share`, the one whose mean probability over the sounding stretches stands
//! highest against its threshold. Track names come from the main class (two classes when both
//! play at least half the time), numbered where several files get the same name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use instrunet_model::{Classifier, Device, Weights};
use serde::Serialize;

use crate::eval::analyze::analyze;

/// Extensions of the audio files `tag` reads (case-insensitive).
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// How files are analysed and summed up.
#[derive(Debug, Clone, Copy)]
pub struct TagSettings {
    /// Seconds between analyses.
    pub hop_seconds: f32,
    /// Span of the centred average of neighbouring analyses, seconds.
    pub smoothing_seconds: f64,
    /// RMS level, dBFS, from which a stretch counts as sounding.
    pub silence_db: f32,
    /// Smallest share of the sounding time for a class to count as heard.
    pub min_share: f64,
}

impl Default for TagSettings {
    fn default() -> Self {
        Self {
            hop_seconds: instrunet_model::DEFAULT_HOP_SECONDS,
            smoothing_seconds: 4.0,
            silence_db: -50.0,
            min_share: 0.2,
        }
    }
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tagged {
    pub seconds: f64,
    pub sounding_seconds: f64,
    /// Per class (the model's order): share of the sounding time it is active.
    pub shares: Vec<f64>,
    /// Per class: mean probability over the sounding stretches, over its threshold.
    pub strength: Vec<f64>,
    /// The classes whose share reaches `min_share`, largest share first.
    pub heard: Vec<usize>,
    pub main: usize,
}

/// The result for one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Tagged(Tagged),
    /// No stretch reaches the silence level.
    Silent {
        seconds: f64,
    },
    /// The file could not be read or analysed: why.
    Failed(String),
}

/// The audio files in `dir` (and its subfolders with `recursive`), sorted by path. Hidden files
/// and folders (starting with a dot) are skipped.
pub fn find_audio_files(dir: &Path, recursive: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            if path.is_dir() {
                if recursive {
                    folders.push(path);
                }
            } else if is_audio_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_audio_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| e.eq_ignore_ascii_case(a)))
}

/// Tags mono samples at `rate`.
pub fn tag_samples(
    classifier: Classifier,
    samples: &[f32],
    rate: u32,
    settings: &TagSettings,
) -> anyhow::Result<Outcome> {
    let seconds = samples.len() as f64 / rate as f64;
    let thresholds = classifier.spec().thresholds.clone();
    // A file shorter than one window (a one-shot) is centred in silence, so that it gets one
    // analysis whose centre stretch holds its middle.
    let window = (classifier.spec().mel.window_seconds() * rate as f64).ceil() as usize
        + (settings.hop_seconds as f64 * rate as f64).ceil() as usize;
    let padded;
    let (samples, offset) = if samples.len() < window {
        let offset = (window - samples.len()) / 2;
        let mut p = vec![0.0f32; window];
        p[offset..offset + samples.len()].copy_from_slice(samples);
        padded = p;
        (&padded[..], offset)
    } else {
        (samples, 0)
    };
    let timeline = analyze(
        classifier,
        samples,
        rate,
        settings.hop_seconds,
        settings.smoothing_seconds,
    )?;
    let hop = timeline.hop_seconds;
    let n = thresholds.len();
    let (mut sounding, mut active, mut strength) = (0usize, vec![0usize; n], vec![0.0f64; n]);
    for (&t, p) in timeline.times.iter().zip(&timeline.probabilities) {
        let from = (((t - hop / 2.0) * rate as f64).round().max(0.0) as usize).max(offset);
        let to = (((t + hop / 2.0) * rate as f64).round() as usize)
            .min(samples.len())
            .min(offset + (seconds * rate as f64).round() as usize);
        if to <= from || rms_db(&samples[from..to]) < settings.silence_db {
            continue;
        }
        sounding += 1;
        for k in 0..n {
            if p[k] >= thresholds[k] {
                active[k] += 1;
            }
            strength[k] += p[k] as f64 / thresholds[k].max(1e-6) as f64;
        }
    }
    if sounding == 0 {
        return Ok(Outcome::Silent { seconds });
    }
    let shares: Vec<f64> = active.iter().map(|&a| a as f64 / sounding as f64).collect();
    strength.iter_mut().for_each(|s| *s /= sounding as f64);
    let mut heard: Vec<usize> = (0..n)
        .filter(|&k| shares[k] >= settings.min_share)
        .collect();
    heard.sort_by(|&a, &b| {
        shares[b]
            .total_cmp(&shares[a])
            .then(strength[b].total_cmp(&strength[a]))
    });
    let main = heard.first().copied().unwrap_or_else(|| {
        (0..n)
            .max_by(|&a, &b| strength[a].total_cmp(&strength[b]))
            .unwrap_or(0)
    });
    Ok(Outcome::Tagged(Tagged {
        seconds,
        sounding_seconds: sounding as f64 * hop.min(seconds),
        shares,
        strength,
        heard,
        main,
    }))
}

/// RMS level of `samples` in dBFS (−inf for digital silence).
pub fn rms_db(samples: &[f32]) -> f32 {
    let power = samples.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / samples.len() as f64;
    (10.0 * power.log10()) as f32
}

/// Reads and tags one file; never fails: an unreadable file is [`Outcome::Failed`] with why.
pub fn tag_file(path: &Path, weights: &Weights, settings: &TagSettings) -> Outcome {
    let run = || -> anyhow::Result<Outcome> {
        let audio = crate::data::audio::read_mono(path)?;
        let classifier = Classifier::new(weights, &Device::Cpu)?;
        tag_samples(classifier, &audio.samples, audio.sample_rate, settings)
    };
    run().unwrap_or_else(|e| {
        // read_mono's errors start with the path; the table already shows it.
        let text = format!("{e:#}");
        let prefix = format!("{}: ", path.display());
        Outcome::Failed(text.strip_prefix(&prefix).unwrap_or(&text).to_owned())
    })
}

/// Tags `files` on `threads` threads, in file order; `done(i)` is called as file `i` finishes.
pub fn tag_files(
    files: &[PathBuf],
    weights: &Weights,
    settings: &TagSettings,
    threads: usize,
    done: &(dyn Fn(usize, &Outcome) + Sync),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Outcome>> = vec![None; files.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, files.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let outcome = tag_file(path, weights, settings);
                        done(i, &outcome);
                        mine.push((i, outcome));
                    }
                    mine
                })
            })
            .collect();
        for worker in workers {
            for (i, outcome) in worker.join().expect("a tagging thread panicked") {
                results[i] = Some(outcome);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every file was tagged"))
        .collect()
}

/// The track name a result suggests before numbering: the main class, or the two classes that
/// each play at least half of the sounding time ("Piano + Strings"); `None` for silent or
/// unreadable files.
pub fn base_name(outcome: &Outcome, classes: &[String]) -> Option<String> {
    let Outcome::Tagged(t) = outcome else {
        return None;
    };
    let both: Vec<usize> = t
        .heard
        .iter()
        .copied()
        .filter(|&k| t.shares[k] >= 0.5)
        .take(2)
        .collect();
    Some(if both.len() == 2 && both[0] == t.main {
        format!("{} + {}", classes[both[0]], classes[both[1]])
    } else {
        classes[t.main].clone()
    })
}

/// Suggested track names: [`base_name`], numbered in file order ("Bass 1", "Bass 2") where
/// several files share one.
pub fn suggest_names(outcomes: &[Outcome], classes: &[String]) -> Vec<Option<String>> {
    let bases: Vec<Option<String>> = outcomes.iter().map(|o| base_name(o, classes)).collect();
    let mut count = BTreeMap::<&str, usize>::new();
    for b in bases.iter().flatten() {
        *count.entry(b).or_default() += 1;
    }
    let mut seen = BTreeMap::<&str, usize>::new();
    bases
        .iter()
        .map(|b| {
            b.as_deref().map(|b| {
                if count[b] > 1 {
                    let i = seen.entry(b).or_default();
                    *i += 1;
                    format!("{b} {i}")
                } else {
                    b.to_owned()
                }
            })
        })
        .collect()
}

/// One file's line of the report (the table, CSV and JSON all come from this).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    /// `tagged`, `silent` or `unreadable`.
    pub status: &'static str,
    pub seconds: Option<f64>,
    pub sounding_seconds: Option<f64>,
    pub main_class: Option<String>,
    pub suggested_name: Option<String>,
    /// The classes heard with their shares of the sounding time, largest first.
    pub heard: Vec<(String, f64)>,
    /// Every class's share of the sounding time.
    pub shares: BTreeMap<String, f64>,
    pub reason: Option<String>,
}

/// The reports of `outcomes`, with `display` naming each file.
pub fn reports(display: &[String], outcomes: &[Outcome], classes: &[String]) -> Vec<Report> {
    let names = suggest_names(outcomes, classes);
    display
        .iter()
        .zip(outcomes)
        .zip(names)
        .map(|((file, outcome), name)| {
            let mut r = Report {
                file: file.clone(),
                status: "tagged",
                seconds: None,
                sounding_seconds: None,
                main_class: None,
                suggested_name: name,
                heard: Vec::new(),
                shares: BTreeMap::new(),
                reason: None,
            };
            match outcome {
                Outcome::Tagged(t) => {
                    r.seconds = Some(t.seconds);
                    r.sounding_seconds = Some(t.sounding_seconds);
                    r.main_class = Some(classes[t.main].clone());
                    r.heard = t
                        .heard
                        .iter()
                        .map(|&k| (classes[k].clone(), t.shares[k]))
                        .collect();
                    r.shares = classes.iter().cloned().zip(t.shares.clone()).collect();
                }
                Outcome::Silent { seconds } => {
                    r.status = "silent";
                    r.seconds = Some(*seconds);
                }
                Outcome::Failed(why) => {
                    r.status = "unreadable";
                    r.reason = Some(why.clone());
                }
            }
            r
        })
        .collect()
}

fn heard_text(r: &Report) -> String {
    match r.status {
        "tagged" if r.heard.is_empty() => "(nothing sure)".to_owned(),
        "tagged" => r
            .heard
            .iter()
            .map(|(c, s)| format!("{c} {:.0}%", 100.0 * s))
            .collect::<Vec<_>>()
            .join(", "),
        "silent" => "silent".to_owned(),
        _ => format!("unreadable: {}", r.reason.as_deref().unwrap_or("")),
    }
}

/// The table printed on the terminal.
pub fn table(reports: &[Report]) -> String {
    let width = |f: &dyn Fn(&Report) -> usize, title: &str| {
        reports.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let wf = width(&|r| r.file.chars().count(), "file");
    let wm = width(
        &|r| r.main_class.as_deref().map_or(1, str::len),
        "main class",
    );
    let wn = width(
        &|r| r.suggested_name.as_deref().map_or(1, str::len),
        "suggested name",
    );
    let mut s = format!(
        "{:<wf$}  {:>7}  {:<wm$}  {:<wn$}  classes heard (share of sounding time)\n",
        "file", "seconds", "main class", "suggested name"
    );
    for r in reports {
        let secs = r.seconds.map_or("–".to_owned(), |x| format!("{x:.1}"));
        s += &format!(
            "{:<wf$}  {secs:>7}  {:<wm$}  {:<wn$}  {}\n",
            r.file,
            r.main_class.as_deref().unwrap_or("–"),
            r.suggested_name.as_deref().unwrap_or("–"),
            heard_text(r),
        );
    }
    s
}

/// CSV: file, status, seconds, sounding seconds, main class, suggested name, the classes heard,
/// the reason a file was unreadable, then every class's share.
pub fn csv(reports: &[Report], classes: &[String]) -> String {
    use crate::eval::report::csv_field;
    let mut s = String::from(
        "file,status,seconds,sounding_seconds,main_class,suggested_name,classes_heard,reason",
    );
    for c in classes {
        s += &format!(",{}", csv_field(&format!("share {c}")));
    }
    s.push('\n');
    let num = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.2}"));
    for r in reports {
        let heard = r
            .heard
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        s += &[
            csv_field(&r.file),
            r.status.to_owned(),
            num(r.seconds),
            num(r.sounding_seconds),
            csv_field(r.main_class.as_deref().unwrap_or("")),
            csv_field(r.suggested_name.as_deref().unwrap_or("")),
            csv_field(&heard),
            csv_field(r.reason.as_deref().unwrap_or("")),
        ]
        .join(",");
        for c in classes {
            s += &format!(
                ",{}",
                r.shares.get(c).map_or(String::new(), |v| format!("{v:.3}"))
            );
        }
        s.push('\n');
    }
    s
}

/// A shell script of `mv -n` lines that would give each tagged file its suggested name (same
/// folder, same extension), for the user to read and run; it renames nothing itself. Files whose
/// new name is taken by a file that stays, or by an earlier line, are left as comments.
pub fn rename_plan(files: &[PathBuf], reports: &[Report]) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by `instrunet tag`: review, then run with sh. mv -n never overwrites.\nset -e\n",
    );
    let mut taken: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    let moving: std::collections::BTreeSet<&PathBuf> = files
        .iter()
        .zip(reports)
        .filter(|(_, r)| r.suggested_name.is_some())
        .map(|(f, _)| f)
        .collect();
    for (file, r) in files.iter().zip(reports) {
        let Some(name) = &r.suggested_name else {
            s += &format!("# {}: {}, left as it is\n", r.file, r.status);
            continue;
        };
        let mut new_name = name.replace('/', "-");
        if let Some(ext) = file.extension().and_then(|e| e.to_str()) {
            new_name = format!("{new_name}.{ext}");
        }
        let target = file.with_file_name(&new_name);
        if &target == file {
            s += &format!("# {}: already named so\n", r.file);
            taken.insert(target);
            continue;
        }
        let blocked = taken.contains(&target) || (target.exists() && !moving.contains(&target));
        let line = format!("mv -n -- {} {}", sh_quote(file), sh_quote(&target));
        if blocked {
            s += &format!("# {} is taken: {line}\n", target.display());
        } else {
            s += &line;
            s.push('\n');
            taken.insert(target);
        }
    }
    s
}

/// A path as one single-quoted shell word.
fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["Piano", "Bass", "Strings", "Drums"]
            .map(String::from)
            .to_vec()
    }

    fn tagged(shares: [f64; 4], main: usize) -> Outcome {
        let mut heard: Vec<usize> = (0..4).filter(|&k| shares[k] >= 0.2).collect();
        heard.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]));
        Outcome::Tagged(Tagged {
            seconds: 10.0,
            sounding_seconds: 8.0,
            shares: shares.to_vec(),
            strength: vec![1.0; 4],
            heard,
            main,
        })
    }

    #[test]
    fn names_are_numbered_only_where_they_repeat_and_two_halves_make_a_pair() {
        let outcomes = [
            tagged([0.0, 0.9, 0.1, 0.0], 1),
            tagged([0.1, 0.0, 0.0, 1.0], 3),
            tagged([0.0, 0.7, 0.3, 0.0], 1),
            Outcome::Silent { seconds: 3.0 },
            tagged([0.8, 0.0, 0.6, 0.0], 0),
            Outcome::Failed("not audio".into()),
        ];
        let names = suggest_names(&outcomes, &classes());
        assert_eq!(
            names,
            vec![
                Some("Bass 1".into()),
                Some("Drums".into()),
                Some("Bass 2".into()),
                None,
                Some("Piano + Strings".into()),
                None
            ]
        );
    }

    #[test]
    fn the_rename_plan_quotes_names_keeps_extensions_and_never_takes_a_name_twice() {
        let dir = std::env::temp_dir().join(format!("instrunet-tag-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A file that stays where it is and already holds the name "Drums.wav".
        std::fs::write(dir.join("Drums.wav"), b"").unwrap();
        let files: Vec<PathBuf> = ["it's 1.wav", "Audio 02.wav", "Audio 03.wav", "Audio 04.wav"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
        let outcomes = [
            tagged([0.0, 0.9, 0.0, 0.0], 1),
            tagged([0.0, 0.0, 0.0, 0.9], 3),
            tagged([0.0, 0.9, 0.0, 0.0], 1),
            Outcome::Silent { seconds: 1.0 },
        ];
        let display: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let reports = reports(&display, &outcomes, &classes());
        let plan = rename_plan(&files, &reports);
        let d = dir.display();
        assert!(
            plan.contains(&format!("mv -n -- '{d}/it'\\''s 1.wav' '{d}/Bass 1.wav'")),
            "{plan}"
        );
        assert!(plan.contains(&format!("'{d}/Audio 03.wav' '{d}/Bass 2.wav'")));
        // Drums.wav belongs to a file that stays: that line is only a comment.
        assert!(
            plan.contains(&format!(
                "# {d}/Drums.wav is taken: mv -n -- '{d}/Audio 02.wav' '{d}/Drums.wav'"
            )),
            "{plan}"
        );
        assert!(plan.contains("Audio 04.wav: silent, left as it is"));
        assert_eq!(plan.lines().filter(|l| l.starts_with("mv ")).count(), 2);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn silence_is_silent_and_csv_quotes_what_needs_it() {
        let classifier = Classifier::embedded_default();
        let rate = 16_000;
        let quiet = vec![1e-4f32; rate as usize * 5];
        let outcome = tag_samples(classifier, &quiet, rate, &TagSettings::default()).unwrap();
        assert_eq!(outcome, Outcome::Silent { seconds: 5.0 });
        let r = reports(
            &["a, b.wav".to_owned()],
            &[Outcome::Failed("bad \"header\"".into())],
            &classes(),
        );
        let text = csv(&r, &classes());
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("\"a, b.wav\",unreadable,,,,,,\"bad \"\"header\"\"\""),
            "{text}"
        );
        assert!((rms_db(&[0.5, -0.5]) - 20.0 * 0.5f32.log10()).abs() < 1e-5);
    }
}
