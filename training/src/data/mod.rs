//! The data stages: reading the Slakh / BabySlakh layout ([`slakh`]), decoding its audio
//! ([`audio`]) and resampling it ([`resample`]), cutting labelled windows ([`windows`]), caching
//! them ([`cache`]), splitting tracks by song ([`split`]) into a data set in memory ([`dataset`]),
//! checking a data folder ([`check`]) and making a set of each stem played alone ([`solo`]).
//!
//! Nothing here knows about the composer or the renderer (`synth`): the renderer writes the Slakh
//! metadata schema defined here.

pub mod audio;
pub mod cache;
pub mod check;
pub mod dataset;
pub mod resample;
pub mod slakh;
pub mod solo;
pub mod split;
pub mod windows;
