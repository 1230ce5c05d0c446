//! An on-disk cache of a track's labelled windows, so that a second epoch or a second run does not
//! decode and transform the audio again.
//!
//! A cache file is named by the track and a key that hashes everything the windows depend on: the
//! track's files (path, size and modification time of metadata.yaml, the mix and every stem), the
//! front-end settings and class list, and the window settings. Change any of them and the key
//! changes, so the stale file is not used (it is deleted when the new one is written).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use half::f16;
use instrunet_model::ModelSpec;

use crate::data::slakh::Track;
use crate::data::split::fnv1a;
use crate::data::windows::{LabelledWindows, WindowSettings, track_windows};
use crate::error::DataError;

/// Version 2: windows in half precision (as [`crate::data::dataset::WindowSet`] keeps them),
/// labels in f32. Version 1 files (all f32) are not read; they are recomputed and replaced.
const MAGIC: &[u8; 8] = b"INWIN002";

/// Whether a lookup found its windows on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
}

/// A folder of cached windows.
#[derive(Debug, Clone)]
pub struct WindowCache {
    dir: PathBuf,
}

impl WindowCache {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, DataError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        Ok(Self { dir })
    }

    /// The key of a track's windows under these settings.
    pub fn key(
        track: &Track,
        spec: &ModelSpec,
        settings: &WindowSettings,
    ) -> Result<u64, DataError> {
        let mut text = format!(
            "{:?}|{:?}|{}|{}|",
            spec.mel, spec.classes, settings.stride_frames, settings.active_dbfs
        );
        let files = [track.dir.path.join("metadata.yaml"), track.mix_path.clone()]
            .into_iter()
            .chain(track.stems.iter().map(|s| s.audio_path.clone()));
        for path in files {
            let meta = std::fs::metadata(&path).map_err(|e| DataError::io(&path, e))?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos());
            // Names relative to the track folder: the same data reached by another path (relative
            // or absolute) has the same key.
            let name = path.strip_prefix(&track.dir.path).unwrap_or(&path);
            text.push_str(&format!("{}:{}:{modified:?}|", name.display(), meta.len()));
        }
        Ok(fnv1a(text.as_bytes()))
    }

    /// Cache files of one track folder start with this: its id and a hash of its absolute path,
    /// so that `Track00001` of two data roots sharing a cache do not evict each other.
    fn prefix(track: &Track) -> String {
        let dir = std::fs::canonicalize(&track.dir.path).unwrap_or_else(|_| track.dir.path.clone());
        format!(
            "{}-{:08x}-",
            track.dir.id,
            fnv1a(dir.to_string_lossy().as_bytes()) as u32
        )
    }

    fn file(&self, track: &Track, key: u64) -> PathBuf {
        self.dir
            .join(format!("{}{key:016x}.windows", Self::prefix(track)))
    }

    /// The track's windows from the cache, or computed and stored.
    pub fn load_or_compute(
        &self,
        track: &Track,
        spec: &ModelSpec,
        settings: &WindowSettings,
    ) -> Result<(LabelledWindows, CacheStatus), DataError> {
        let key = Self::key(track, spec, settings)?;
        let path = self.file(track, key);
        if let Ok(w) = read(&path, spec) {
            return Ok((w, CacheStatus::Hit));
        }
        let mut windows = track_windows(track, spec, settings)?;
        // Rounded as the file stores them, so that a hit returns exactly what a miss did.
        for v in &mut windows.windows {
            *v = f16::from_f32(*v).to_f32();
        }
        // Remove this track's stale entries, then write via a temporary file.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let prefix = Self::prefix(track);
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let tmp = path.with_extension("tmp");
        write(&tmp, &windows, spec).map_err(|e| DataError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| DataError::io(&path, e))?;
        Ok((windows, CacheStatus::Miss))
    }
}

fn write(path: &Path, w: &LabelledWindows, spec: &ModelSpec) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(MAGIC)?;
    for v in [w.len(), spec.mel.window_len(), spec.n_classes()] {
        f.write_all(&(v as u64).to_le_bytes())?;
    }
    for &s in &w.start_samples {
        f.write_all(&(s as u64).to_le_bytes())?;
    }
    for &v in &w.windows {
        f.write_all(&f16::from_f32(v).to_le_bytes())?;
    }
    for v in &w.labels {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

fn read(path: &Path, spec: &ModelSpec) -> std::io::Result<LabelledWindows> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a window cache file");
    if bytes.len() < 32 || &bytes[..8] != MAGIC {
        return Err(bad());
    }
    let u = |i: usize| {
        u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes")) as usize
    };
    let (n, wl, nc) = (u(0), u(1), u(2));
    if wl != spec.mel.window_len()
        || nc != spec.n_classes()
        || bytes.len() != 32 + 8 * n + 2 * n * wl + 4 * n * nc
    {
        return Err(bad());
    }
    let starts = (0..n).map(|i| u(3 + i)).collect();
    let (windows, labels) = bytes[32 + 8 * n..].split_at(2 * n * wl);
    let windows = windows
        .chunks_exact(2)
        .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect();
    let labels = labels
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    Ok(LabelledWindows {
        windows,
        labels,
        start_samples: starts,
    })
}
