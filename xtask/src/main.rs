//! `cargo xtask`: build helpers. Bundling the plugin (`cargo xtask bundle instrunet --release`)
//! arrives with the plugin crate, delegated to `nice-plug-xtask`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    eprintln!(
        "cargo xtask {}: no tasks yet; `bundle` comes with the plugin (see ARCHITECTURE.md)",
        args.join(" ")
    );
    std::process::exit(2);
}
