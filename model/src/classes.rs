//! InstruNET's instrument taxonomy: 14 classes, each a union of Slakh `inst_class` values
//! (General MIDI program families).
//!
//! This module is the one place that defines which Slakh strings and General MIDI programs belong to
//! which class. A trained model carries its own class list in its weights file
//! ([`crate::ModelSpec::classes`]); code that runs a model reads the names and the count from there.
//! [`InstrumentClass::ALL`] is what training writes into new weights files.

use std::fmt;

/// One of InstruNET's instrument classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstrumentClass {
    Piano,
    ChromaticPercussion,
    Organ,
    Guitar,
    Bass,
    Strings,
    Brass,
    Reed,
    Pipe,
    SynthLead,
    SynthPad,
    Ethnic,
    Drums,
    SoundEffects,
}

/// A Slakh `inst_class` string (or class name) that matches no class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    #[error("unknown Slakh inst_class {0:?} (case matters; see slakh-format.md for the 17 values)")]
    UnknownInstClass(String),
    #[error("unknown InstruNET class name {0:?}")]
    UnknownClassName(String),
    #[error("General MIDI program {0} is out of range (0-127, or 128 for drums)")]
    ProgramOutOfRange(u32),
}

impl InstrumentClass {
    /// The classes in the order new weights files list them.
    pub const ALL: [InstrumentClass; 14] = [
        InstrumentClass::Piano,
        InstrumentClass::ChromaticPercussion,
        InstrumentClass::Organ,
        InstrumentClass::Guitar,
        InstrumentClass::Bass,
        InstrumentClass::Strings,
        InstrumentClass::Brass,
        InstrumentClass::Reed,
        InstrumentClass::Pipe,
        InstrumentClass::SynthLead,
        InstrumentClass::SynthPad,
        InstrumentClass::Ethnic,
        InstrumentClass::Drums,
        InstrumentClass::SoundEffects,
    ];

    /// The Slakh `program_num` that stands for a drum kit.
    pub const DRUM_PROGRAM: u32 = 128;

    /// The display name, which is also the name written into weights files.
    pub fn name(self) -> &'static str {
        match self {
            InstrumentClass::Piano => "Piano",
            InstrumentClass::ChromaticPercussion => "Chromatic Percussion",
            InstrumentClass::Organ => "Organ",
            InstrumentClass::Guitar => "Guitar",
            InstrumentClass::Bass => "Bass",
            InstrumentClass::Strings => "Strings",
            InstrumentClass::Brass => "Brass",
            InstrumentClass::Reed => "Reed",
            InstrumentClass::Pipe => "Pipe",
            InstrumentClass::SynthLead => "Synth Lead",
            InstrumentClass::SynthPad => "Synth Pad",
            InstrumentClass::Ethnic => "Ethnic",
            InstrumentClass::Drums => "Drums",
            InstrumentClass::SoundEffects => "Sound Effects",
        }
    }

    /// The class with this display name (exact match).
    pub fn from_name(name: &str) -> Result<Self, ClassError> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| ClassError::UnknownClassName(name.to_owned()))
    }

    /// Maps one of Slakh's 17 `inst_class` strings to its class. Case matters, as in Slakh's files
    /// ("Sound Effects" and "Sound effects" are both real values); anything else is an error.
    pub fn from_slakh_inst_class(inst_class: &str) -> Result<Self, ClassError> {
        Ok(match inst_class {
            "Piano" => InstrumentClass::Piano,
            "Chromatic Percussion" => InstrumentClass::ChromaticPercussion,
            "Organ" => InstrumentClass::Organ,
            "Guitar" => InstrumentClass::Guitar,
            "Bass" => InstrumentClass::Bass,
            "Strings" | "Strings (continued)" => InstrumentClass::Strings,
            "Brass" => InstrumentClass::Brass,
            "Reed" => InstrumentClass::Reed,
            "Pipe" => InstrumentClass::Pipe,
            "Synth Lead" => InstrumentClass::SynthLead,
            "Synth Pad" => InstrumentClass::SynthPad,
            "Ethnic" => InstrumentClass::Ethnic,
            "Drums" | "Percussive" => InstrumentClass::Drums,
            "Sound Effects" | "Sound effects" => InstrumentClass::SoundEffects,
            other => return Err(ClassError::UnknownInstClass(other.to_owned())),
        })
    }

    /// Maps a General MIDI program (0-127, as Slakh's `program_num`; 128 = drum kit) to its class,
    /// following the families in Slakh's table.
    pub fn from_program(program: u32) -> Result<Self, ClassError> {
        Ok(match program {
            0..=7 => InstrumentClass::Piano,
            8..=15 => InstrumentClass::ChromaticPercussion,
            16..=23 => InstrumentClass::Organ,
            24..=31 => InstrumentClass::Guitar,
            32..=39 => InstrumentClass::Bass,
            40..=55 => InstrumentClass::Strings,
            56..=63 => InstrumentClass::Brass,
            64..=71 => InstrumentClass::Reed,
            72..=79 => InstrumentClass::Pipe,
            80..=87 => InstrumentClass::SynthLead,
            88..=95 => InstrumentClass::SynthPad,
            96..=103 => InstrumentClass::SoundEffects,
            104..=111 => InstrumentClass::Ethnic,
            112..=118 => InstrumentClass::Drums,
            119..=127 => InstrumentClass::SoundEffects,
            Self::DRUM_PROGRAM => InstrumentClass::Drums,
            other => return Err(ClassError::ProgramOutOfRange(other)),
        })
    }

    /// Maps a Slakh stem (`program_num`, `is_drum`) to its class: a drum stem is Drums whatever
    /// its program number says (General MIDI drum kits use program numbers to pick a kit).
    pub fn from_stem(program: u32, is_drum: bool) -> Result<Self, ClassError> {
        if is_drum {
            Ok(InstrumentClass::Drums)
        } else {
            Self::from_program(program)
        }
    }

    /// The names of [`Self::ALL`], in order, as written into new weights files.
    pub fn all_names() -> Vec<String> {
        Self::ALL.iter().map(|c| c.name().to_owned()).collect()
    }
}

impl fmt::Display for InstrumentClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::InstrumentClass as C;
    use super::*;

    /// Slakh's table: each of the 17 `inst_class` strings with its program range.
    const SLAKH_TABLE: [(&str, std::ops::RangeInclusive<u32>, C); 17] = [
        ("Piano", 0..=7, C::Piano),
        ("Chromatic Percussion", 8..=15, C::ChromaticPercussion),
        ("Organ", 16..=23, C::Organ),
        ("Guitar", 24..=31, C::Guitar),
        ("Bass", 32..=39, C::Bass),
        ("Strings", 40..=47, C::Strings),
        ("Strings (continued)", 48..=55, C::Strings),
        ("Brass", 56..=63, C::Brass),
        ("Reed", 64..=71, C::Reed),
        ("Pipe", 72..=79, C::Pipe),
        ("Synth Lead", 80..=87, C::SynthLead),
        ("Synth Pad", 88..=95, C::SynthPad),
        ("Sound Effects", 96..=103, C::SoundEffects),
        ("Ethnic", 104..=111, C::Ethnic),
        ("Percussive", 112..=118, C::Drums),
        ("Sound effects", 119..=127, C::SoundEffects),
        ("Drums", 128..=128, C::Drums),
    ];

    #[test]
    fn every_slakh_inst_class_maps_to_its_class() {
        for (name, _, class) in SLAKH_TABLE {
            assert_eq!(C::from_slakh_inst_class(name), Ok(class), "{name}");
        }
    }

    #[test]
    fn every_program_maps_to_the_class_of_its_slakh_family() {
        let mut seen = [0usize; 129];
        for (name, programs, class) in SLAKH_TABLE {
            for p in programs {
                seen[p as usize] += 1;
                assert_eq!(C::from_program(p), Ok(class), "program {p} ({name})");
            }
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "the table covers 0-128 once each"
        );
    }

    #[test]
    fn strings_drums_and_effects_are_unions() {
        assert_eq!(
            C::from_slakh_inst_class("Strings (continued)"),
            Ok(C::Strings)
        );
        assert_eq!(C::from_slakh_inst_class("Percussive"), Ok(C::Drums));
        assert_eq!(
            C::from_slakh_inst_class("Sound effects"),
            Ok(C::SoundEffects)
        );
        assert_eq!(C::from_program(48), Ok(C::Strings)); // String Ensemble 1
        assert_eq!(C::from_program(55), Ok(C::Strings)); // Orchestra Hit
        assert_eq!(C::from_program(119), Ok(C::SoundEffects)); // Reverse Cymbal
        assert_eq!(C::from_program(118), Ok(C::Drums)); // Synth Drum
    }

    #[test]
    fn unknown_strings_are_errors_not_drops() {
        for bad in [
            "piano",
            "STRINGS",
            "Strings(continued)",
            "",
            "Vocals",
            "Sound  Effects",
        ] {
            assert_eq!(
                C::from_slakh_inst_class(bad),
                Err(ClassError::UnknownInstClass(bad.to_owned()))
            );
        }
        assert_eq!(
            C::from_program(129),
            Err(ClassError::ProgramOutOfRange(129))
        );
    }

    #[test]
    fn drum_stems_are_drums_whatever_their_program() {
        assert_eq!(C::from_stem(0, true), Ok(C::Drums));
        assert_eq!(C::from_stem(128, true), Ok(C::Drums));
        assert_eq!(C::from_stem(33, false), Ok(C::Bass));
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        let names = C::all_names();
        assert_eq!(names.len(), C::ALL.len());
        for c in C::ALL {
            assert_eq!(C::from_name(c.name()), Ok(c));
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(C::from_name("Banjo").is_err());
    }
}
