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
use instrunet_model::{ModelSpec, frames_to_window, window_to_frames};

use crate::data::slakh::Track;
use crate::data::split::fnv1a;
use crate::data::windows::{LabelledWindows, WindowSettings, track_windows};
use crate::error::DataError;

/// Version 3: the mix's log-Mel frames once each, in half precision (as
/// [`crate::data::dataset::WindowSet`] keeps them), the windows' starts and their labels (f32);
/// windows are cut from the frames again on reading. At the default stride of half a window a
/// file is half the size of version 2, which stored every window whole. Files of earlier versions
/// are not read; they are recomputed and replaced.
const MAGIC: &[u8; 8] = b"INWIN003";

/// Whether a lookup found its windows on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    /// Computed and stored.
    Miss,
    /// Computed, but the file could not be written (the reason, naming the file): a full disk
    /// costs the computing again on the next read, never the job.
    Unstored(String),
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
        let stored = write(&tmp, &windows, spec)
            .map_err(|e| DataError::io(&tmp, e))
            .and_then(|()| std::fs::rename(&tmp, &path).map_err(|e| DataError::io(&path, e)));
        match stored {
            Ok(()) => Ok((windows, CacheStatus::Miss)),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Ok((windows, CacheStatus::Unstored(e.to_string())))
            }
        }
    }
}

fn write(path: &Path, w: &LabelledWindows, spec: &ModelSpec) -> std::io::Result<()> {
    let mel = &spec.mel;
    let frames = frames_of(w, mel.n_mels, mel.window_frames, mel.hop_length)?;
    let n_frames = frames.len() / mel.n_mels;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(MAGIC)?;
    for v in [
        w.len(),
        mel.window_len(),
        spec.n_classes(),
        mel.n_mels,
        mel.hop_length,
        n_frames,
    ] {
        f.write_all(&(v as u64).to_le_bytes())?;
    }
    for &s in &w.start_samples {
        f.write_all(&(s as u64).to_le_bytes())?;
    }
    for v in &frames {
        f.write_all(&v.to_le_bytes())?;
    }
    for v in &w.labels {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("not a window cache file: {why}"),
    )
}

/// The frames the windows were cut from (frame-major, `n_mels` values each), in half precision:
/// each frame once, however many windows hold it. Frames no window covers (a stride longer than
/// a window) are stored as zeros.
fn frames_of(
    w: &LabelledWindows,
    n_mels: usize,
    window_frames: usize,
    hop: usize,
) -> std::io::Result<Vec<f16>> {
    let wl = n_mels * window_frames;
    if w.windows.len() != w.len() * wl {
        return Err(invalid("windows and starts disagree"));
    }
    let mut first_frames = Vec::with_capacity(w.len());
    for &s in &w.start_samples {
        if !s.is_multiple_of(hop) {
            return Err(invalid("a window does not start on a frame"));
        }
        first_frames.push(s / hop);
    }
    let n_frames = first_frames
        .iter()
        .map(|f| f + window_frames)
        .max()
        .unwrap_or(0);
    let mut frames = vec![f16::ZERO; n_frames * n_mels];
    let mut unpacked = vec![0.0f32; wl];
    for (window, &f0) in w.windows.chunks_exact(wl).zip(&first_frames) {
        window_to_frames(window, n_mels, &mut unpacked).map_err(|e| invalid(&e.to_string()))?;
        let span = &mut frames[f0 * n_mels..(f0 + window_frames) * n_mels];
        for (v, &x) in span.iter_mut().zip(&unpacked) {
            *v = f16::from_f32(x);
        }
    }
    Ok(frames)
}

fn read(path: &Path, spec: &ModelSpec) -> std::io::Result<LabelledWindows> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    const HEADER: usize = 8 + 6 * 8;
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(invalid("no version 3 header"));
    }
    let u = |i: usize| {
        u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes")) as usize
    };
    let (n, wl, nc, n_mels, hop, n_frames) = (u(0), u(1), u(2), u(3), u(4), u(5));
    let mel = &spec.mel;
    if wl != mel.window_len()
        || nc != spec.n_classes()
        || n_mels != mel.n_mels
        || hop != mel.hop_length
    {
        return Err(invalid("other settings"));
    }
    let expected = n
        .checked_mul(8 + 4 * nc)
        .and_then(|b| n_frames.checked_mul(2 * n_mels)?.checked_add(b))
        .and_then(|b| b.checked_add(HEADER));
    if expected != Some(bytes.len()) {
        return Err(invalid("wrong length"));
    }
    let starts: Vec<usize> = (0..n).map(|i| u(6 + i)).collect();
    let window_frames = mel.window_frames;
    if starts
        .iter()
        .any(|&s| !s.is_multiple_of(hop) || s / hop + window_frames > n_frames)
    {
        return Err(invalid("a window outside the stored frames"));
    }
    let (frames, labels) = bytes[HEADER + 8 * n..].split_at(2 * n_frames * n_mels);
    let frames: Vec<f32> = frames
        .chunks_exact(2)
        .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect();
    let mut windows = vec![0.0f32; n * wl];
    for (window, &s) in windows.chunks_exact_mut(wl).zip(&starts) {
        let f0 = s / hop;
        frames_to_window(
            &frames[f0 * n_mels..(f0 + window_frames) * n_mels],
            n_mels,
            window,
        )
        .map_err(|e| invalid(&e.to_string()))?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use instrunet_model::Provenance;

    /// Windows cut as `label_windows` cuts them from `n_frames` made-up frames.
    fn windows(spec: &ModelSpec, n_frames: usize, stride: usize) -> LabelledWindows {
        let mel = &spec.mel;
        let frame = |f: usize, m: usize| ((f * 131 + m * 7) % 997) as f32 * 0.1 - 60.0;
        let mut w = LabelledWindows::default();
        let mut f0 = 0;
        while f0 + mel.window_frames <= n_frames {
            for m in 0..mel.n_mels {
                for t in 0..mel.window_frames {
                    let v = f16::from_f32(frame(f0 + t, m)).to_f32();
                    w.windows.push(v);
                }
            }
            w.labels
                .extend((0..spec.n_classes()).map(|c| ((c + f0) % 3 == 0) as u8 as f32));
            w.start_samples.push(f0 * mel.hop_length);
            f0 += stride;
        }
        w
    }

    fn round_trip(stride: usize) -> (LabelledWindows, LabelledWindows, u64) {
        let spec = ModelSpec::new_default(Provenance::default());
        let w = windows(&spec, 700, stride);
        let dir =
            std::env::temp_dir().join(format!("instrunet-cache-{}-{stride}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.windows");
        write(&path, &w, &spec).unwrap();
        let back = read(&path, &spec).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        std::fs::remove_dir_all(&dir).unwrap();
        (w, back, size)
    }

    #[test]
    fn windows_come_back_bit_for_bit_at_any_stride() {
        for stride in [16, 64, 128, 200] {
            let (w, back, _) = round_trip(stride);
            assert!(w.len() >= 3, "stride {stride}: {} windows", w.len());
            assert!(back == w, "stride {stride}");
        }
    }

    #[test]
    fn overlapping_windows_store_their_frames_once() {
        // Half-window stride (the default): 9 windows of 128 frames hold 640 distinct frames, so
        // the file is about 640/1152 of storing each window.
        let (w, _, size) = round_trip(64);
        let spec = ModelSpec::new_default(Provenance::default());
        let per_window = 2 * spec.mel.window_len() as u64;
        assert!(
            size < w.len() as u64 * per_window * 6 / 10,
            "{size} bytes for {} windows",
            w.len()
        );
    }

    #[test]
    fn a_damaged_or_foreign_file_is_not_read() {
        let spec = ModelSpec::new_default(Provenance::default());
        let w = windows(&spec, 300, 64);
        let dir = std::env::temp_dir().join(format!("instrunet-cache-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.windows");
        write(&path, &w, &spec).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(read(&path, &spec).is_err(), "a cut file");
        let mut old = bytes.clone();
        old[..8].copy_from_slice(b"INWIN002");
        std::fs::write(&path, &old).unwrap();
        assert!(read(&path, &spec).is_err(), "a version 2 file");
        let mut other = spec.clone();
        other.mel.hop_length = 128;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, &other).is_err(), "other front-end settings");
        assert!(read(&path, &spec).unwrap() == w);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
