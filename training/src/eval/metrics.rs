//! Multi-label metrics, as the README defines them.
//!
//! For each class, over all windows: precision, recall and F1 of the positive class at the class's
//! threshold, and average precision (AP, threshold-free: the mean of the precision at the rank of
//! each positive, scores sorted high to low). Averages: *weighted* (by each class's support, the
//! number of windows where it is present; the paper's averaging), *macro* (plain mean over the
//! classes present in the evaluated data) and *micro* (counts pooled over classes). mAP is the
//! macro mean of AP. Subset accuracy counts windows whose whole label set is right; Hamming
//! accuracy counts right (window, class) decisions.

use serde::Serialize;

/// One class's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ClassMetrics {
    pub class: String,
    /// Windows where the class is present.
    pub support: usize,
    pub threshold: f32,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Average precision; `None` when the class never occurs.
    pub ap: Option<f64>,
    /// Area under the ROC curve: the chance that a window with the class scores above one
    /// without; `None` when either kind is missing.
    pub roc_auc: Option<f64>,
}

/// Precision, recall and F1 under one averaging.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Everything `instrunet eval` reports for one model on one set.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub windows: usize,
    pub subset_accuracy: f64,
    pub hamming_accuracy: f64,
    pub weighted: Prf,
    pub macro_avg: Prf,
    pub micro: Prf,
    pub map: f64,
    /// Mean ROC-AUC over the classes that have one, and the lowest class's.
    pub macro_roc_auc: f64,
    pub min_roc_auc: f64,
    /// Windows labelled with no instrument at all (silence, non-music), and the share of them in
    /// which the model reports some class anyway: the meters that light when nothing plays.
    pub empty_windows: usize,
    pub empty_reported: f64,
    pub classes: Vec<ClassMetrics>,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Average precision of scores against binary labels; `None` without positives.
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut sum) = (0usize, 0.0f64);
    let mut i = 0;
    // Tied scores form one step, as sklearn's average_precision_score does.
    while i < order.len() {
        let mut j = i;
        let mut tp_here = 0;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            tp_here += positive[order[j]] as usize;
            j += 1;
        }
        tp += tp_here;
        sum += tp_here as f64 * tp as f64 / j as f64;
        i = j;
    }
    Some(sum / n_pos as f64)
}

/// Area under the ROC curve of scores against binary labels (ties count half, as sklearn's
/// roc_auc_score); `None` without positives or without negatives.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mann-Whitney: sum of the positives' ranks (tied scores share their mean rank).
    let (mut rank_sum, mut i) = (0.0f64, 0);
    while i < order.len() {
        let mut j = i;
        let mut pos_here = 0usize;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            pos_here += positive[order[j]] as usize;
            j += 1;
        }
        let mean_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += pos_here as f64 * mean_rank;
        i = j;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Evaluates probabilities (`n × classes`) against labels at per-class thresholds.
pub fn evaluate(probs: &[f32], labels: &[f32], names: &[String], thresholds: &[f32]) -> Metrics {
    let c = names.len();
    let n = labels.len().checked_div(c).unwrap_or(0);
    let (mut exact, mut right) = (0usize, 0usize);
    let (mut empty, mut empty_reported) = (0usize, 0usize);
    let mut tp = vec![0usize; c];
    let mut fp = vec![0usize; c];
    let mut fn_ = vec![0usize; c];
    for w in 0..n {
        let mut all = true;
        for k in 0..c {
            let pred = probs[w * c + k] >= thresholds[k];
            let truth = labels[w * c + k] > 0.5;
            match (pred, truth) {
                (true, true) => tp[k] += 1,
                (true, false) => fp[k] += 1,
                (false, true) => fn_[k] += 1,
                _ => {}
            }
            if pred == truth {
                right += 1;
            } else {
                all = false;
            }
        }
        exact += all as usize;
        let window = w * c..(w + 1) * c;
        if labels[window.clone()].iter().all(|&l| l <= 0.5) {
            empty += 1;
            empty_reported += probs[window].iter().zip(thresholds).any(|(p, t)| p >= t) as usize;
        }
    }
    let mut classes = Vec::with_capacity(c);
    for k in 0..c {
        let scores: Vec<f32> = (0..n).map(|w| probs[w * c + k]).collect();
        let positive: Vec<bool> = (0..n).map(|w| labels[w * c + k] > 0.5).collect();
        let (p, r) = (ratio(tp[k], tp[k] + fp[k]), ratio(tp[k], tp[k] + fn_[k]));
        classes.push(ClassMetrics {
            class: names[k].clone(),
            support: tp[k] + fn_[k],
            threshold: thresholds[k],
            precision: p,
            recall: r,
            f1: f1(p, r),
            ap: average_precision(&scores, &positive),
            roc_auc: roc_auc(&scores, &positive),
        });
    }
    let present: Vec<&ClassMetrics> = classes.iter().filter(|m| m.support > 0).collect();
    let total_support: usize = present.iter().map(|m| m.support).sum();
    let avg = |weighted: bool, f: &dyn Fn(&ClassMetrics) -> f64| -> f64 {
        if present.is_empty() {
            return 0.0;
        }
        if weighted {
            present.iter().map(|m| f(m) * m.support as f64).sum::<f64>()
                / total_support.max(1) as f64
        } else {
            present.iter().map(|m| f(m)).sum::<f64>() / present.len() as f64
        }
    };
    let prf = |weighted: bool| Prf {
        precision: avg(weighted, &|m| m.precision),
        recall: avg(weighted, &|m| m.recall),
        f1: avg(weighted, &|m| m.f1),
    };
    let (stp, sfp, sfn) = (
        tp.iter().sum::<usize>(),
        fp.iter().sum::<usize>(),
        fn_.iter().sum::<usize>(),
    );
    let (mp, mr) = (ratio(stp, stp + sfp), ratio(stp, stp + sfn));
    let aps: Vec<f64> = classes.iter().filter_map(|m| m.ap).collect();
    let aucs: Vec<f64> = classes.iter().filter_map(|m| m.roc_auc).collect();
    Metrics {
        windows: n,
        subset_accuracy: ratio(exact, n),
        hamming_accuracy: ratio(right, n * c),
        weighted: prf(true),
        macro_avg: prf(false),
        micro: Prf {
            precision: mp,
            recall: mr,
            f1: f1(mp, mr),
        },
        map: if aps.is_empty() {
            0.0
        } else {
            aps.iter().sum::<f64>() / aps.len() as f64
        },
        macro_roc_auc: if aucs.is_empty() {
            0.0
        } else {
            aucs.iter().sum::<f64>() / aucs.len() as f64
        },
        min_roc_auc: aucs.iter().copied().fold(f64::NAN, f64::min),
        empty_windows: empty,
        empty_reported: ratio(empty_reported, empty),
        classes,
    }
}

/// Per-class thresholds that maximise each class's F1 on the given data
/// ([`instrunet_model::DEFAULT_THRESHOLD`] for a class that never occurs there).
pub fn tune_thresholds(probs: &[f32], labels: &[f32], n_classes: usize) -> Vec<f32> {
    let n = labels.len() / n_classes.max(1);
    (0..n_classes)
        .map(|k| {
            if !(0..n).any(|w| labels[w * n_classes + k] > 0.5) {
                return instrunet_model::DEFAULT_THRESHOLD;
            }
            let mut best = (0.0f64, instrunet_model::DEFAULT_THRESHOLD);
            for step in 1..50 {
                let t = step as f32 * 0.02;
                let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
                for w in 0..n {
                    let pred = probs[w * n_classes + k] >= t;
                    let truth = labels[w * n_classes + k] > 0.5;
                    tp += (pred && truth) as usize;
                    fp += (pred && !truth) as usize;
                    fn_ += (!pred && truth) as usize;
                }
                let f = f1(ratio(tp, tp + fp), ratio(tp, tp + fn_));
                if f > best.0 + 1e-9 {
                    best = (f, t);
                }
            }
            best.1
        })
        .collect()
}

/// What was playing when a class was reported but absent: for each other class, how often it was
/// present in those false-alarm windows, next to how often it is present in all windows. A share
/// far above the base rate names the class that the model mistook for this one.
#[derive(Debug, Clone, Serialize)]
pub struct FalseAlarms {
    pub class: String,
    /// Windows where the class was reported (at its threshold) but absent.
    pub count: usize,
    /// Windows among those where no class at all was present.
    pub in_silence: usize,
    /// (other class, share of the false alarms where it was present, share of all windows where
    /// it is present), by decreasing ratio of the two; classes present in under 10 % of the false
    /// alarms are left out.
    pub playing_instead: Vec<(String, f64, f64)>,
}

/// The false-alarm analysis of every class (see [`FalseAlarms`]).
pub fn false_alarms(
    probs: &[f32],
    labels: &[f32],
    names: &[String],
    thresholds: &[f32],
) -> Vec<FalseAlarms> {
    let c = names.len();
    let n = labels.len().checked_div(c).unwrap_or(0);
    let present = |w: usize, j: usize| labels[w * c + j] > 0.5;
    let base: Vec<f64> = (0..c)
        .map(|j| ratio((0..n).filter(|&w| present(w, j)).count(), n))
        .collect();
    (0..c)
        .map(|k| {
            let alarms: Vec<usize> = (0..n)
                .filter(|&w| probs[w * c + k] >= thresholds[k] && !present(w, k))
                .collect();
            let in_silence = alarms
                .iter()
                .filter(|&&w| (0..c).all(|j| !present(w, j)))
                .count();
            let mut playing_instead: Vec<(String, f64, f64)> = (0..c)
                .filter(|&j| j != k && base[j] > 0.0)
                .map(|j| {
                    let share = ratio(
                        alarms.iter().filter(|&&w| present(w, j)).count(),
                        alarms.len(),
                    );
                    (names[j].clone(), share, base[j])
                })
                .filter(|(_, share, _)| *share >= 0.1)
                .collect();
            playing_instead.sort_by(|a, b| (b.1 / b.2).total_cmp(&(a.1 / a.2)));
            FalseAlarms {
                class: names[k].clone(),
                count: alarms.len(),
                in_silence,
                playing_instead,
            }
        })
        .collect()
}

/// The five classes the paper's table was measured on ("guitar, strings, piano, bass, and
/// drums"; it left the rarer classes out), in our class names: `eval --classes paper`.
pub const PAPER_CLASSES: [&str; 5] = ["Piano", "Guitar", "Bass", "Strings", "Drums"];

/// Predictions and labels kept to some of the classes, so that every metric (subset accuracy
/// included) is computed as if the model knew only those.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSubset {
    pub probs: Vec<f32>,
    pub labels: Vec<f32>,
    pub names: Vec<String>,
    pub thresholds: Vec<f32>,
}

/// The column of each class in `wanted` (names, any case, in that order) among `names`; an
/// unknown or repeated name is an error that lists the known ones.
pub fn class_columns(names: &[String], wanted: &[String]) -> Result<Vec<usize>, String> {
    let mut columns = Vec::with_capacity(wanted.len());
    for w in wanted {
        let k = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(w.trim()))
            .ok_or_else(|| format!("no class named {w:?}; the classes are {}", names.join(", ")))?;
        if columns.contains(&k) {
            return Err(format!("class {:?} named twice", names[k]));
        }
        columns.push(k);
    }
    if columns.is_empty() {
        return Err("no classes named".into());
    }
    Ok(columns)
}

/// Keeps the columns of `wanted` (see [`class_columns`]) from window-major `probs` and `labels`
/// over `names`.
pub fn select_classes(
    probs: &[f32],
    labels: &[f32],
    names: &[String],
    thresholds: &[f32],
    wanted: &[String],
) -> Result<ClassSubset, String> {
    let columns = class_columns(names, wanted)?;
    let c = names.len();
    let n = labels.len().checked_div(c).unwrap_or(0);
    let pick = |values: &[f32]| -> Vec<f32> {
        (0..n)
            .flat_map(|w| columns.iter().map(move |&k| values[w * c + k]))
            .collect()
    };
    Ok(ClassSubset {
        probs: pick(probs),
        labels: pick(labels),
        names: columns.iter().map(|&k| names[k].clone()).collect(),
        thresholds: columns.iter().map(|&k| thresholds[k]).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::markdown_false_alarms;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn roc_auc_matches_hand_computed_values() {
        // Pairs (pos, neg): 0.9>0.8, 0.9>0.1, 0.7<0.8, 0.7>0.1 → 3 of 4.
        let auc = roc_auc(&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
        // Ties count half; perfect and reversed rankings.
        assert!((roc_auc(&[0.5; 4], &[true, false, true, false]).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, false]), Some(1.0));
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, false]), Some(0.0));
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]), None);
    }

    #[test]
    fn average_precision_matches_hand_computed_values() {
        // Ranking: + - + -  → (1/1 + 2/3) / 2.
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false]).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(average_precision(&[0.1, 0.2], &[false, false]), None);
        // All tied: precision is the positive rate.
        let ap = average_precision(&[0.5; 4], &[true, false, false, false]).unwrap();
        assert!((ap - 0.25).abs() < 1e-12);
    }

    #[test]
    fn averages_follow_their_definitions() {
        // Two classes, four windows. Class 0: support 3, predicted for windows 0,1,3 (truth 0,1,2):
        // tp 2, fp 1, fn 1 → P = R = F1 = 2/3. Class 1: support 1, predicted nowhere → 0.
        let labels = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let probs = [0.9, 0.1, 0.8, 0.2, 0.3, 0.4, 0.7, 0.1];
        let m = evaluate(&probs, &labels, &names(2), &[0.5, 0.5]);
        assert!((m.classes[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.classes[1].f1, 0.0);
        assert!((m.weighted.f1 - (3.0 * 2.0 / 3.0) / 4.0).abs() < 1e-12);
        assert!((m.macro_avg.f1 - (2.0 / 3.0) / 2.0).abs() < 1e-12);
        // Micro: tp 2, fp 1, fn 2 → P 2/3, R 1/2.
        assert!((m.micro.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.micro.recall - 0.5).abs() < 1e-12);
        // Exact: windows 0 and 1 → 1/2; Hamming: 5 of 8 right.
        assert!((m.subset_accuracy - 0.5).abs() < 1e-12);
        assert!((m.hamming_accuracy - 5.0 / 8.0).abs() < 1e-12);
        // Class 1's single positive (score 0.4) ranks first → AP 1.
        assert!((m.classes[1].ap.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn windows_with_no_instrument_count_the_ones_where_something_is_reported() {
        let names = vec!["A".to_owned(), "B".to_owned()];
        // Four windows: two with nothing playing (one of them reports B), two with A.
        let labels = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let probs = [0.1, 0.2, 0.1, 0.7, 0.9, 0.1, 0.2, 0.9];
        let m = evaluate(&probs, &labels, &names, &[0.5, 0.5]);
        assert_eq!(m.empty_windows, 2);
        assert_eq!(m.empty_reported, 0.5);
        let none = evaluate(&probs[4..], &labels[4..], &names, &[0.5, 0.5]);
        assert_eq!((none.empty_windows, none.empty_reported), (0, 0.0));
    }

    #[test]
    fn false_alarms_name_the_class_that_was_playing() {
        // Class 0 is reported in windows 1 and 2 where it is absent; class 1 plays in both, class
        // 2 in window 2 only (and in window 0). Window 3 is silent and class 0 is reported there.
        let labels = [
            1.0, 0.0, 1.0, //
            0.0, 1.0, 0.0, //
            0.0, 1.0, 1.0, //
            0.0, 0.0, 0.0,
        ];
        let probs = [
            0.9, 0.1, 0.8, //
            0.8, 0.9, 0.1, //
            0.7, 0.9, 0.9, //
            0.6, 0.0, 0.0,
        ];
        let fa = false_alarms(&probs, &labels, &names(3), &[0.5; 3]);
        assert_eq!(fa[0].count, 3);
        assert_eq!(fa[0].in_silence, 1);
        // Class 1: in 2 of the 3 false alarms, in 2 of 4 windows → ratio 4/3; class 2: 1 of 3
        // against 2 of 4 → 2/3. Class 1 comes first.
        let names0: Vec<&str> = fa[0].playing_instead.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(names0, ["c1", "c2"]);
        assert!((fa[0].playing_instead[0].1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((fa[0].playing_instead[0].2 - 0.5).abs() < 1e-12);
        assert_eq!(fa[1].count, 0);
        assert!(fa[1].playing_instead.is_empty());
        let table = markdown_false_alarms(&fa);
        assert!(
            table.contains("| c0 | 3 | c1 67 % (50 %), c2 33 % (50 %), silence: 1 |"),
            "{table}"
        );
    }

    #[test]
    fn tuned_thresholds_separate_separable_scores() {
        let labels = [1.0, 0.0, 1.0, 0.0];
        let probs = [0.35, 0.3, 0.4, 0.1];
        let t = tune_thresholds(&probs, &labels, 1);
        assert!(t[0] > 0.3 && t[0] <= 0.35, "{t:?}");
        let m = evaluate(&probs, &labels, &names(1), &t);
        assert_eq!(m.classes[0].f1, 1.0);
    }

    #[test]
    fn a_class_subset_is_scored_as_if_the_model_knew_only_those_classes() {
        // Three classes, two windows. Window 0 is wrong only on class 1, window 1 only on class 2.
        let names = names(3);
        let labels = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let probs = [0.9, 0.8, 0.7, 0.1, 0.9, 0.6];
        let thresholds = [0.5, 0.5, 0.5];
        let all = evaluate(&probs, &labels, &names, &thresholds);
        assert_eq!(all.subset_accuracy, 0.0);
        let wanted = vec!["C2".to_owned(), "c0".to_owned()];
        let sub = select_classes(&probs, &labels, &names, &thresholds, &wanted).unwrap();
        assert_eq!(sub.names, ["c2", "c0"]);
        assert_eq!(sub.probs, [0.7, 0.9, 0.6, 0.1]);
        assert_eq!(sub.labels, [1.0, 1.0, 0.0, 0.0]);
        let m = evaluate(&sub.probs, &sub.labels, &sub.names, &sub.thresholds);
        // Window 0 is now right on both classes; window 1 still wrong on c2.
        assert_eq!(m.subset_accuracy, 0.5);
        assert_eq!(m.classes.len(), 2);
        let wanted = vec!["c1".to_owned(), "c1".to_owned()];
        assert!(
            select_classes(&probs, &labels, &names, &thresholds, &wanted)
                .unwrap_err()
                .contains("twice")
        );
        let wanted = vec!["Kazoo".to_owned()];
        let err = select_classes(&probs, &labels, &names, &thresholds, &wanted).unwrap_err();
        assert!(err.contains("Kazoo") && err.contains("c0, c1, c2"), "{err}");
    }
}
