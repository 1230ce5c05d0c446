//! The standalone app: InstruNET without a DAW (`--help` lists the audio backends; `-b dummy`
//! runs without a sound card).

fn main() {
    nice_plug::prelude::nice_export_standalone::<instrunet_plugin::Instrunet>();
}
