//! Making training tracks: the song composer ([`compose`]), MIDI reading and writing ([`midi`]),
//! the General MIDI tables ([`gm`]), the SoundFonts ([`fonts`]) and the renderer ([`render`]),
//! which writes tracks in the Slakh layout ([`crate::data::slakh`]) with production effects
//! ([`production`]: EQ, compression, reverb, ... per stem and on the mix); non-music tracks
//! ([`negatives`]: noise, hum, clicks, speech) in the same layout, with no stems.
//!
//! The composer writes MIDI and knows nothing of the renderer.

pub mod compose;
pub mod fonts;
pub mod gm;
pub mod midi;
pub mod negatives;
pub mod performance;
pub mod production;
pub mod render;
