//! `instrunet data solo SRC DST`: a "solo" Slakh-format set made from another, one track per stem
//! whose mix is that stem alone. `instrunet eval --split all` on it shows how well a model names
//! each instrument when nothing else plays (model/STUDIES.md, "Played alone").
//!
//! Nothing is copied: each solo track's `mix` and its one stem are symbolic links to the source
//! stem's audio (WAV or FLAC, as found). Its `metadata.yaml` is the source track's, read and
//! written with the reader's schema ([`TrackMetadata`]), with `audio_dir: stems` and only that
//! stem. Stems listed without audio (Slakh2100 lists some) are skipped. Tracks are numbered
//! `Track00001`, ... in the order [`discover`] finds the source tracks, stems in name order.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::data::slakh::{Split, Track, TrackMetadata, discover};

/// One solo track's metadata: the source track's with `audio_dir: stems` and only `stem`.
pub fn solo_metadata(source: &TrackMetadata, stem: &str) -> Option<TrackMetadata> {
    let mut meta = source.clone();
    let entry = meta.stems.remove(stem)?;
    meta.stems.clear();
    meta.stems.insert(stem.to_owned(), entry);
    meta.audio_dir = "stems".into();
    Some(meta)
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn link(_target: &Path, _at: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "solo sets are made of symbolic links, which need a Unix system",
    ))
}

/// Makes the solo set of the tracks under `src` (not slakh2100-redux's `omitted/`) in `dst`;
/// returns how many tracks it made. A solo track folder that exists already is an error.
pub fn solo_set(src: &Path, dst: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut n = 0usize;
    for dir in discover(src)?
        .into_iter()
        .filter(|d| d.split != Some(Split::Omitted))
    {
        let track = Track::open(&dir)?;
        for stem in &track.stems {
            let meta = solo_metadata(&track.metadata, &stem.name)
                .expect("the reader lists only stems of the metadata");
            let audio: PathBuf = std::path::absolute(&stem.audio_path)
                .with_context(|| format!("locating {}", stem.audio_path.display()))?;
            let ext = audio
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            n += 1;
            let out = dst.join(format!("Track{n:05}"));
            anyhow::ensure!(
                !out.exists(),
                "{} exists already: make the solo set in a new folder",
                out.display()
            );
            let stems = out.join("stems");
            std::fs::create_dir_all(&stems)
                .with_context(|| format!("creating {}", stems.display()))?;
            let yaml = serde_yaml_ng::to_string(&meta)?;
            std::fs::write(out.join("metadata.yaml"), yaml)
                .with_context(|| format!("writing {}", out.join("metadata.yaml").display()))?;
            for at in [
                stems.join(format!("{}.{ext}", stem.name)),
                out.join(format!("mix.{ext}")),
            ] {
                link(&audio, &at).with_context(|| format!("linking {}", at.display()))?;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// Every field of Slakh's own metadata.yaml survives the reader's schema: what `data solo`
    /// writes keeps what the source said (fields the schema adds are null).
    #[test]
    fn real_slakh_metadata_round_trips_through_the_schema() {
        let mut checked = 0;
        for root in ["babyslakh_16k", "slakh2100_flac_redux"] {
            for dir in discover(&fixtures().join(root)).unwrap() {
                // (The fixtures hold a track without metadata, for the reader's errors.)
                let Ok(text) = std::fs::read_to_string(dir.path.join("metadata.yaml")) else {
                    continue;
                };
                let original: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
                let meta: TrackMetadata = serde_yaml_ng::from_str(&text).unwrap();
                let written: serde_yaml_ng::Value =
                    serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&meta).unwrap()).unwrap();
                assert_same(&original, &written, &dir.id);
                checked += 1;
            }
        }
        assert!(checked >= 2, "{checked}");
    }

    fn assert_same(original: &serde_yaml_ng::Value, written: &serde_yaml_ng::Value, at: &str) {
        use serde_yaml_ng::Value;
        match (original, written) {
            (Value::Mapping(a), Value::Mapping(b)) => {
                for (k, v) in a {
                    let w = b.get(k).unwrap_or_else(|| panic!("{at}: {k:?} lost"));
                    assert_same(v, w, &format!("{at}.{}", k.as_str().unwrap_or("?")));
                }
                for (k, v) in b {
                    assert!(a.contains_key(k) || v.is_null(), "{at}: {k:?} added: {v:?}");
                }
            }
            (Value::Number(a), Value::Number(b)) => {
                assert_eq!(a.as_f64(), b.as_f64(), "{at}")
            }
            (a, b) => assert_eq!(a, b, "{at}"),
        }
    }

    #[test]
    fn a_solo_track_per_stem_with_audio_linked_not_copied() {
        let dst = std::env::temp_dir().join(format!("instrunet-solo-unit-{}", std::process::id()));
        std::fs::remove_dir_all(&dst).ok();
        let src = fixtures().join("slakh2100_flac_redux");
        let source = Track::open(&discover(&src).unwrap()[0]).unwrap();
        assert!(
            !source.missing_stems.is_empty(),
            "the fixture lists stems without audio"
        );
        let n = solo_set(&src, &dst).unwrap();
        assert_eq!(n, source.stems.len());
        let solos = discover(&dst).unwrap();
        assert_eq!(solos.len(), n);
        for (solo, stem) in solos.iter().zip(&source.stems) {
            let t = Track::open(solo).unwrap();
            assert_eq!(t.metadata.audio_dir, "stems");
            assert_eq!(t.metadata.stems.len(), 1);
            assert_eq!(t.stems.len(), 1);
            assert_eq!(t.stems[0].name, stem.name);
            assert_eq!(t.stems[0].class, stem.class);
            assert_eq!(t.metadata.uuid, source.metadata.uuid);
            assert_eq!(t.metadata.lmd_midi_dir, source.metadata.lmd_midi_dir);
            let target = std::path::absolute(&stem.audio_path).unwrap();
            for file in [&t.mix_path, &t.stems[0].audio_path] {
                assert!(file.symlink_metadata().unwrap().is_symlink(), "{file:?}");
                assert_eq!(std::fs::read_link(file).unwrap(), target);
                assert_eq!(file.extension().unwrap(), "flac");
            }
        }
        assert_eq!(solos[0].id, "Track00001");
        // A second run into the same folder would overwrite: refused.
        let err = solo_set(&src, &dst).unwrap_err().to_string();
        assert!(err.contains("exists already"), "{err}");
        std::fs::remove_dir_all(&dst).ok();
    }
}
