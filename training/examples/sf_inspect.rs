//! Lists the banks and patches of SoundFonts: `cargo run -p instrunet-training --example sf_inspect -- A.sf2 ...`.
fn main() {
    for path in std::env::args().skip(1) {
        let mut f = std::fs::File::open(&path).unwrap();
        let sf = rustysynth::SoundFont::new(&mut f).unwrap();
        let mut banks = std::collections::BTreeMap::<i32, Vec<i32>>::new();
        for p in sf.get_presets() {
            banks
                .entry(p.get_bank_number())
                .or_default()
                .push(p.get_patch_number());
        }
        println!("{path}: {} presets", sf.get_presets().len());
        for (b, ps) in &banks {
            let mut ps = ps.clone();
            ps.sort();
            println!(
                "  bank {b}: {} patches, first {:?}",
                ps.len(),
                &ps[..ps.len().min(8)]
            );
        }
        for p in sf.get_presets().iter().take(3) {
            println!(
                "  preset bank {} patch {} {:?}",
                p.get_bank_number(),
                p.get_patch_number(),
                p.get_name()
            );
        }
    }
}
