//! InstruNET as a VST3/CLAP plugin and standalone app. The nice-plug wrapper, the streaming engine
//! and the egui editor arrive with the plugin work; the model they run is `instrunet_model`.

pub use instrunet_model as model;
