//! `cargo xtask`: `cargo xtask bundle instrunet --release` builds the plugin and writes
//! `target/bundled/InstruNET.clap` and `target/bundled/InstruNET.vst3` (the names come from
//! bundler.toml). `instrunet` is accepted as the plugin package's short name (its package is
//! `instrunet-plugin`: `instrunet` is the training tool's command).

fn main() -> nice_plug_xtask::Result<()> {
    let args = std::env::args().skip(1).map(|a| {
        if a == "instrunet" {
            "instrunet-plugin".to_owned()
        } else {
            a
        }
    });
    nice_plug_xtask::main_with_args("cargo xtask", args)
}
