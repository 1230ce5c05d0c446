//! Reading WAV and FLAC files as mono f32 with symphonia.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::DataError;

/// A decoded mono signal.
#[derive(Debug, Clone, PartialEq)]
pub struct MonoAudio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl MonoAudio {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// Decodes a WAV or FLAC file and averages its channels to mono. A truncated file, a file that is
/// not audio, or one with no sample rate is an error naming the file.
pub fn read_mono(path: &Path) -> Result<MonoAudio, DataError> {
    let bad = |reason: String| DataError::Audio {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| bad(e.to_string()))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| bad("no audio track".into()))?;
    let track_id = track.id;
    let sample_rate = track
        .codec_params
        .sample_rate
        .ok_or_else(|| bad("no sample rate".into()))?;
    let expected = track.codec_params.n_frames;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| bad(e.to_string()))?;
    let mut samples = Vec::with_capacity(expected.unwrap_or(0) as usize);
    let mut buffer: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = decoder.decode(&packet).map_err(|e| bad(e.to_string()))?;
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let buf = match &mut buffer {
            Some(b) if b.capacity() >= decoded.capacity() * channels => b,
            _ => buffer.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        samples.extend(
            buf.samples()
                .chunks_exact(channels)
                .map(|f| f.iter().sum::<f32>() / channels as f32),
        );
    }
    if let Some(n) = expected
        && (samples.len() as u64) < n
    {
        return Err(bad(format!(
            "truncated: {} of {} samples",
            samples.len(),
            n
        )));
    }
    if samples.is_empty() {
        return Err(bad("no samples".into()));
    }
    Ok(MonoAudio {
        samples,
        sample_rate,
    })
}
