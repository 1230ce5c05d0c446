//! Makes the SoundFont constants of `src/synth/fonts.rs` from `soundfonts.tsv`, the one list of
//! the training SoundFonts (`scripts/ensure-tools.sh` reads it too).

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=soundfonts.tsv");
    let text = std::fs::read_to_string("soundfonts.tsv").expect("training/soundfonts.tsv");
    let (mut code, mut table) = (String::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, path, package, what] = fields[..] else {
            panic!(
                "soundfonts.tsv line {}: expected 4 tab-separated fields",
                n + 1
            );
        };
        writeln!(code, "/// {what} (Debian: {package}).").unwrap();
        writeln!(code, "pub const {name}: &str = {path:?};").unwrap();
        table.push(format!("({name}, {package:?})"));
    }
    writeln!(
        code,
        "/// Where Debian's packages put the SoundFonts training uses, with the package of each.\n\
         pub const TRAINING_SOUNDFONTS: [(&str, &str); {}] = [{}];",
        table.len(),
        table.join(", ")
    )
    .unwrap();
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("soundfonts.rs");
    std::fs::write(out, code).unwrap();
}
