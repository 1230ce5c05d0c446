//! Splitting tracks into train / validation / test, by track and never by window, and
//! deterministically: Slakh2100's own split folders when present, else a hash of the track's id.

use crate::data::slakh::{Split, TrackDir};

/// Shares of tracks for training and validation when a data root has no split folders; the rest
/// is the test split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitFractions {
    pub train: f64,
    pub validation: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        Self {
            train: 0.8,
            validation: 0.1,
        }
    }
}

/// FNV-1a, 64-bit: a hash that is the same on every platform and in every Rust version.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a followed by splitmix64's finaliser, whose high bits are well mixed even for ids that
/// differ in one digit (FNV alone puts sequential track ids into the splits unevenly).
fn spread(bytes: &[u8]) -> u64 {
    let mut z = fnv1a(bytes);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The split a track belongs to: its split folder's, or one drawn from a hash of its id.
pub fn assign(track: &TrackDir, fractions: &SplitFractions) -> Split {
    assign_song(track, &track.id, fractions)
}

/// The split a track belongs to: its split folder's, or one drawn from a hash of its song, so
/// that renderings of one song (several timbres of one MIDI file) all land in the same split.
/// The song is metadata.yaml's `lmd_midi_dir` for tracks rendered from MIDI.
pub fn assign_song(track: &TrackDir, song: &str, fractions: &SplitFractions) -> Split {
    if let Some(split) = track.split {
        return split;
    }
    let u = (spread(song.as_bytes()) >> 11) as f64 / (1u64 << 53) as f64;
    if u < fractions.train {
        Split::Train
    } else if u < fractions.train + fractions.validation {
        Split::Validation
    } else {
        Split::Test
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn dir(id: String, split: Option<Split>) -> TrackDir {
        TrackDir {
            path: PathBuf::from(&id),
            id,
            split,
        }
    }

    #[test]
    fn split_folders_win_and_hashing_is_stable_and_proportionate() {
        let f = SplitFractions::default();
        assert_eq!(
            assign(&dir("Track00001".into(), Some(Split::Test)), &f),
            Split::Test
        );
        let mut counts = [0usize; 3];
        for i in 0..3000 {
            let d = dir(format!("Track{i:05}"), None);
            let s = assign(&d, &f);
            assert_eq!(s, assign(&d, &f));
            counts[match s {
                Split::Train => 0,
                Split::Validation => 1,
                _ => 2,
            }] += 1;
        }
        assert!((2250..2550).contains(&counts[0]), "{counts:?}");
        assert!((200..400).contains(&counts[1]), "{counts:?}");
        assert!((200..400).contains(&counts[2]), "{counts:?}");
        // Fixed values: changing the hash would silently move tracks between splits.
        assert_eq!(fnv1a(b"Track00001"), fnv1a(b"Track00001"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
