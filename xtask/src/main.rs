//! `cargo xtask`: `cargo xtask bundle instrunet --release` builds the plugin and writes
//! `target/bundled/InstruNET.clap` and `target/bundled/InstruNET.vst3` (the names come from
//! bundler.toml). `instrunet` is accepted as the plugin package's short name (its package is
//! `instrunet-plugin`: `instrunet` is the training tool's command).
//!
//! `--with-cli` (anywhere after `bundle`) builds the `instrunet` command in the same `cargo build`
//! as the plugin. Cargo unifies the features of the crates both use only within one build, so two
//! builds would compile candle, rubato and the model crate twice; one build compiles them once
//! (`scripts/demo.sh` uses it).

use std::path::PathBuf;

use anyhow::Context;

const PLUGIN_PACKAGE: &str = "instrunet-plugin";
const CLI_PACKAGE: &str = "instrunet-training";

fn main() -> nice_plug_xtask::Result<()> {
    let mut with_cli = false;
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| {
            let flag = a == "--with-cli";
            with_cli |= flag;
            !flag
        })
        .map(|a| {
            if a == "instrunet" {
                PLUGIN_PACKAGE.to_owned()
            } else {
                a
            }
        })
        .collect();
    if !with_cli {
        return nice_plug_xtask::main_with_args("cargo xtask", args);
    }
    // `bundle [instrunet-plugin] <cargo build args>`: only the plugin is bundled.
    match args.first().map(String::as_str) {
        Some("bundle") => {}
        _ => anyhow::bail!("--with-cli goes with `cargo xtask bundle instrunet ...`"),
    }
    let cargo_args: Vec<String> = args[1..]
        .iter()
        .filter(|a| *a != PLUGIN_PACKAGE && *a != "-p")
        .cloned()
        .collect();
    nice_plug_xtask::chdir_workspace_root()?;
    let target_dir = target_dir()?;
    let packages = [PLUGIN_PACKAGE.to_owned(), CLI_PACKAGE.to_owned()];
    nice_plug_xtask::build(&packages, &cargo_args)?;
    nice_plug_xtask::bundle(&target_dir, PLUGIN_PACKAGE, &cargo_args, false)
}

/// The workspace's target folder, as cargo itself resolves it (CARGO_TARGET_DIR, config).
fn target_dir() -> anyhow::Result<PathBuf> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cannot read `cargo metadata`")?;
    Ok(metadata.target_directory.into_std_path_buf())
}
