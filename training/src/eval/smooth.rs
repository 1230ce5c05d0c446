//! Averaging each window's (or analysis's) probabilities with its neighbours': the one
//! implementation behind `instrunet eval --smooth B:A` (within each track) and the centred mean of
//! `instrunet analyze` ([`crate::eval::analyze::centred_mean`]).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::eval::metrics::tune_thresholds;

/// How many neighbours on each side a window's probabilities are averaged with: `before` windows
/// before it and `after` after it (fewer at the ends). `0:0` leaves them as they are; `2:0` is a
/// causal mean of 3, `1:1` a centred mean of 3.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smoothing {
    pub before: usize,
    pub after: usize,
}

impl Smoothing {
    pub const NONE: Smoothing = Smoothing {
        before: 0,
        after: 0,
    };

    /// Whether it changes nothing.
    pub fn is_none(self) -> bool {
        self.before == 0 && self.after == 0
    }
}

impl std::fmt::Display for Smoothing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.before, self.after)
    }
}

impl std::str::FromStr for Smoothing {
    type Err = String;

    /// `B:A`, two whole numbers of windows.
    fn from_str(text: &str) -> Result<Self, String> {
        let (b, a) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected BEFORE:AFTER, e.g. 1:1 or 2:0"))?;
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|e| format!("{text:?}: {s:?} is not a whole number of windows: {e}"))
        };
        Ok(Smoothing {
            before: number(b)?,
            after: number(a)?,
        })
    }
}

/// Row-major `rows` (each `width` values) averaged, row by row, with up to `before` rows before
/// and `after` rows after it (fewer at the ends).
pub fn neighbour_mean(rows: &[f32], width: usize, before: usize, after: usize) -> Vec<f32> {
    if (before == 0 && after == 0) || width == 0 {
        return rows.to_vec();
    }
    let n = rows.len() / width;
    let mut out = vec![0.0f32; rows.len()];
    for i in 0..n {
        let (a, b) = (i.saturating_sub(before), (i + after + 1).min(n));
        let mean = &mut out[i * width..(i + 1) * width];
        for row in rows[a * width..b * width].chunks_exact(width) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= (b - a) as f32);
    }
    out
}

/// The runs of consecutive windows of one track (`track_of`: each window's track), in order.
pub fn track_runs(track_of: &[u32]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=track_of.len() {
        if i == track_of.len() || track_of[i] != track_of[start] {
            runs.push(start..i);
            start = i;
        }
    }
    runs
}

/// Window-major `probs` (`classes` per window) smoothed within each run of one track's windows
/// (see [`track_runs`]): no window is averaged with another track's.
pub fn smooth_within_tracks(
    probs: &[f32],
    classes: usize,
    track_of: &[u32],
    smoothing: Smoothing,
) -> Vec<f32> {
    if smoothing.is_none() {
        return probs.to_vec();
    }
    let mut out = Vec::with_capacity(probs.len());
    for run in track_runs(track_of) {
        out.extend(neighbour_mean(
            &probs[run.start * classes..run.end * classes],
            classes,
            smoothing.before,
            smoothing.after,
        ));
    }
    out
}

/// Window-major `probs` and `labels` (`classes` per window) pooled into segments of `n`
/// consecutive windows of one track (the last segment of a track may be shorter): each
/// segment's probability and label is the largest of its windows'. With the default stride of
/// about 1 s, `n = 3` gives 3 s segments that take the max of their windows, as the hidden
/// human-written-songs check scores. `n` ≤ 1 returns the windows as they are.
pub fn segment_max(
    probs: &[f32],
    labels: &[f32],
    classes: usize,
    track_of: &[u32],
    n: usize,
) -> (Vec<f32>, Vec<f32>, Vec<u32>) {
    if n <= 1 || classes == 0 {
        return (probs.to_vec(), labels.to_vec(), track_of.to_vec());
    }
    let (mut p, mut l, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for run in track_runs(track_of) {
        let mut start = run.start;
        while start < run.end {
            let end = (start + n).min(run.end);
            for k in 0..classes {
                let max = |x: &[f32]| {
                    (start..end)
                        .map(|w| x[w * classes + k])
                        .fold(f32::NEG_INFINITY, f32::max)
                };
                p.push(max(probs));
                l.push(max(labels));
            }
            t.push(track_of[start]);
            start = end;
        }
    }
    (p, l, t)
}

/// Per-class thresholds tuned for F1 ([`tune_thresholds`]) on a set's predictions smoothed and
/// pooled into segments as the evaluated set's are: `instrunet eval --tune-on`.
pub fn thresholds_tuned_on(
    probs: &[f32],
    labels: &[f32],
    classes: usize,
    track_of: &[u32],
    smoothing: Smoothing,
    segments: usize,
) -> Vec<f32> {
    let smoothed = smooth_within_tracks(probs, classes, track_of, smoothing);
    let (p, l, _) = segment_max(&smoothed, labels, classes, track_of, segments);
    tune_thresholds(&p, &l, classes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::evaluate;

    #[test]
    fn segments_take_the_max_of_their_windows_within_one_track() {
        // Two classes; track 0 has 4 windows, track 1 has 2.
        let probs = [0.1, 0.9, 0.5, 0.2, 0.3, 0.3, 0.8, 0.0, 0.4, 0.6, 0.7, 0.1];
        let labels = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let track_of = [0, 0, 0, 0, 1, 1];
        let (p, l, t) = segment_max(&probs, &labels, 2, &track_of, 3);
        assert_eq!(t, vec![0, 0, 1]);
        assert_eq!(p, vec![0.5, 0.9, 0.8, 0.0, 0.7, 0.6]);
        assert_eq!(l, vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        let same = segment_max(&probs, &labels, 2, &track_of, 1);
        assert_eq!(same.0, probs.to_vec());
    }

    #[test]
    fn smoothing_parses_before_and_after() {
        assert_eq!(
            "2:0".parse::<Smoothing>(),
            Ok(Smoothing {
                before: 2,
                after: 0
            })
        );
        assert_eq!("0:0".parse::<Smoothing>(), Ok(Smoothing::NONE));
        assert!(
            "3".parse::<Smoothing>()
                .unwrap_err()
                .contains("BEFORE:AFTER")
        );
        assert!("1:-1".parse::<Smoothing>().is_err());
        assert_eq!(
            Smoothing {
                before: 4,
                after: 1
            }
            .to_string(),
            "4:1"
        );
    }

    #[test]
    fn the_causal_and_centred_means_take_fewer_windows_at_the_ends() {
        // One class, five windows.
        let rows = [1.0, 2.0, 3.0, 4.0, 8.0];
        // Causal mean of 3: itself and up to two before.
        assert_eq!(neighbour_mean(&rows, 1, 2, 0), [1.0, 1.5, 2.0, 3.0, 5.0]);
        // Centred mean of 3.
        assert_eq!(neighbour_mean(&rows, 1, 1, 1), [1.5, 2.0, 3.0, 5.0, 6.0]);
        // Looking ahead only.
        assert_eq!(neighbour_mean(&rows, 1, 0, 1), [1.5, 2.5, 3.5, 6.0, 8.0]);
        assert_eq!(neighbour_mean(&rows, 1, 0, 0), rows);
        // Two classes per row are averaged column by column.
        let two = [0.0, 1.0, 1.0, 0.0];
        assert_eq!(neighbour_mean(&two, 2, 1, 0), [0.0, 1.0, 0.5, 0.5]);
    }

    #[test]
    fn smoothing_never_mixes_two_tracks() {
        // Track 0: windows 0-2, track 1: windows 3-4 (one class).
        let probs = [0.0, 0.0, 0.9, 0.3, 0.6];
        let track_of = [0, 0, 0, 1, 1];
        assert_eq!(track_runs(&track_of), [0..3, 3..5]);
        let s = smooth_within_tracks(&probs, 1, &track_of, "1:1".parse().unwrap());
        // Window 2 ends track 0: the mean of windows 1 and 2 only, not window 3's 0.3.
        assert!((s[2] - 0.45).abs() < 1e-6, "{s:?}");
        // Window 3 starts track 1: windows 3 and 4, not window 2's 0.9.
        assert!((s[3] - 0.45).abs() < 1e-6, "{s:?}");
        assert!(
            (s[0] - 0.0).abs() < 1e-6 && (s[1] - 0.3).abs() < 1e-6,
            "{s:?}"
        );
        assert_eq!(
            smooth_within_tracks(&probs, 1, &track_of, Smoothing::NONE),
            probs
        );
        assert!(track_runs(&[]).is_empty());
    }

    #[test]
    fn thresholds_come_from_the_tuning_set_and_see_its_smoothing() {
        // Tuning set: positives score 0.3-0.35, negatives at most 0.2 → a threshold in (0.2, 0.3].
        let tune_probs = [0.3, 0.35, 0.1, 0.2];
        let tune_labels = [1.0, 1.0, 0.0, 0.0];
        let t = thresholds_tuned_on(
            &tune_probs,
            &tune_labels,
            1,
            &[0, 1, 2, 3],
            Smoothing::NONE,
            1,
        );
        assert!(t[0] > 0.2 && t[0] <= 0.3, "{t:?}");
        // The evaluated set, at those thresholds: its positive 0.25 is found, which its own
        // tuning (or the default 0.5) would not have to match.
        let m = evaluate(&[0.25, 0.15], &[1.0, 0.0], &["c".to_owned()], &t);
        assert_eq!(m.classes[0].recall, 1.0);
        assert_eq!(m.classes[0].precision, 1.0);
        // Smoothing moves the threshold: raw, anything above the negatives' 0.1 separates; a
        // centred mean of 3 lifts the negatives beside the positives to 0.45 and 0.33 and the
        // positives to 0.57, so the threshold must lie above 0.45.
        let probs = [0.1, 0.8, 0.8, 0.1, 0.1, 0.1];
        let labels = [0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let one_track = [0; 6];
        let raw = thresholds_tuned_on(&probs, &labels, 1, &one_track, Smoothing::NONE, 1);
        let smoothed =
            thresholds_tuned_on(&probs, &labels, 1, &one_track, "1:1".parse().unwrap(), 1);
        assert!(raw[0] > 0.1 && raw[0] < 0.2, "{raw:?}");
        assert!(smoothed[0] > 0.45 && smoothed[0] < 0.57, "{smoothed:?}");
    }
}
