//! General MIDI facts the renderer writes into metadata.yaml: program names and Slakh's
//! `inst_class` strings.

/// The 128 General MIDI program names, by program number.
pub const PROGRAM_NAMES: [&str; 128] = [
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Choir",
    "Orchestra Hit",
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
];

/// Slakh's `inst_class` string for a program (128 or `is_drum` = drums), per Slakh's table.
pub fn slakh_inst_class(program: u32, is_drum: bool) -> &'static str {
    if is_drum {
        return "Drums";
    }
    match program {
        0..=7 => "Piano",
        8..=15 => "Chromatic Percussion",
        16..=23 => "Organ",
        24..=31 => "Guitar",
        32..=39 => "Bass",
        40..=47 => "Strings",
        48..=55 => "Strings (continued)",
        56..=63 => "Brass",
        64..=71 => "Reed",
        72..=79 => "Pipe",
        80..=87 => "Synth Lead",
        88..=95 => "Synth Pad",
        96..=103 => "Sound Effects",
        104..=111 => "Ethnic",
        112..=118 => "Percussive",
        119..=127 => "Sound effects",
        _ => "Drums",
    }
}

/// General MIDI drum keys and what plays there: the ones a drum kit must get right.
pub const GM_DRUM_KEYS: [(u8, &str); 8] = [
    (36, "bass drum"),
    (38, "snare"),
    (42, "closed hi-hat"),
    (46, "open hi-hat"),
    (45, "low tom"),
    (50, "high tom"),
    (49, "crash cymbal"),
    (51, "ride cymbal"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use instrunet_model::InstrumentClass;

    #[test]
    fn inst_class_strings_agree_with_the_model_taxonomy() {
        for p in 0..=128u32 {
            let s = slakh_inst_class(p, p == 128);
            assert_eq!(
                InstrumentClass::from_slakh_inst_class(s).unwrap(),
                InstrumentClass::from_program(p).unwrap(),
                "program {p}"
            );
        }
        assert_eq!(PROGRAM_NAMES[0], "Acoustic Grand Piano");
        assert_eq!(PROGRAM_NAMES[33], "Electric Bass (finger)");
        assert_eq!(PROGRAM_NAMES[127], "Gunshot");
    }
}
