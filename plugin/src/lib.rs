//! InstruNET as a VST3/CLAP plugin and standalone app.
//!
//! The plugin is a thin host wrapper around [`instrunet_model::realtime`]: `activate()` loads the
//! model (once; construction reads only the weights' header, so a host's scan stays cheap) and
//! starts the engine's worker thread, `process()` passes the audio through untouched, hands a
//! mono copy to the engine's audio side, copies the parameters the worker follows into the
//! engine's shared state, and turns the engine's published "present" decisions into MIDI notes
//! (`midi_notes.rs`) and its probabilities into MIDI CCs (`midi_cc.rs`); `deactivate()` stops
//! and joins the worker. The editor (`editor.rs`) only reads the engine's shared state.

use std::sync::Arc;

use instrunet_model::realtime::{Analysis, BLOCK_LEN, ChannelMode, Engine, Shared};
use instrunet_model::{Classifier, Weights};
use nice_plug::prelude::*;
use parking_lot::Mutex;

mod editor;
pub mod midi_cc;
pub mod midi_notes;
pub mod params;

use midi_cc::CcOutput;
use midi_notes::NoteOutput;
use params::{CLASS_MIDI_PARAMS, InputChannels, InstrunetParams};

/// What the editor shows about the model, and why it is that one.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    /// Where the weights came from: a path, or "embedded default model".
    pub source: String,
    /// Why user-chosen weights were not used, when they were not.
    pub problem: Option<String>,
    pub classes: Vec<String>,
    pub sample_rate: f32,
    /// Why nothing is analysed in this activation (audio still passes through), when so.
    pub analysis_off: Option<String>,
}

const EMBEDDED: &str = "embedded default model";

/// Loads the weights the parameters ask for, falling back to the embedded model with the reason.
pub fn load_model(path: &str) -> (Weights, ModelStatus) {
    let embedded = || {
        Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS)
            .expect("the embedded weights are valid (tested)")
    };
    let (weights, source, problem) = if path.trim().is_empty() {
        (embedded(), EMBEDDED.to_owned(), None)
    } else {
        match Weights::from_file(path.trim()) {
            Ok(w) => (w, path.trim().to_owned(), None),
            Err(e) => (
                embedded(),
                EMBEDDED.to_owned(),
                Some(format!("{}: {e}", path.trim())),
            ),
        }
    };
    let status = ModelStatus {
        source,
        problem,
        classes: weights.spec.classes.clone(),
        sample_rate: 0.0,
        analysis_off: None,
    };
    (weights, status)
}

/// The status before the first activation: the embedded model's class list, read from its
/// header only (the network itself loads in `activate()`).
fn status_before_activation() -> ModelStatus {
    let spec = Weights::spec_from_bytes(instrunet_model::DEFAULT_WEIGHTS)
        .expect("the embedded weights are valid (tested)");
    ModelStatus {
        source: EMBEDDED.to_owned(),
        problem: None,
        classes: spec.classes,
        sample_rate: 0.0,
        analysis_off: Some("not activated yet".to_owned()),
    }
}

struct IdleModel {
    path: String,
    classifier: Classifier,
    status: ModelStatus,
}

pub struct Instrunet {
    params: Arc<InstrunetParams>,
    shared: Arc<Shared>,
    status: Arc<Mutex<ModelStatus>>,
    engine: Option<Engine>,
    /// The weights path and status of the model the engine runs, to keep it at deactivation.
    running: Option<(String, ModelStatus)>,
    /// The model between activations: loading it again for the same path is skipped.
    idle_model: Option<IdleModel>,
    n_classes: usize,
    /// The latest analysis, read once per `process()` for notes and CCs alike.
    latest: Analysis,
    notes: NoteOutput,
    cc_output: CcOutput,
    /// Each class's note and controller number, read from the parameters on every call.
    keys: [u8; CLASS_MIDI_PARAMS],
    ccs: [u8; CLASS_MIDI_PARAMS],
    was_bypassed: bool,
    /// The engine's dropped-block count when this activation began.
    dropped_before: u64,
}

impl Default for Instrunet {
    fn default() -> Self {
        Self {
            params: Arc::new(InstrunetParams::default()),
            shared: Arc::new(Shared::new()),
            status: Arc::new(Mutex::new(status_before_activation())),
            engine: None,
            running: None,
            idle_model: None,
            n_classes: 0,
            latest: Analysis::default(),
            notes: NoteOutput::default(),
            cc_output: CcOutput::default(),
            keys: [0; CLASS_MIDI_PARAMS],
            ccs: [0; CLASS_MIDI_PARAMS],
            was_bypassed: false,
            dropped_before: 0,
        }
    }
}

impl Plugin for Instrunet {
    const NAME: &'static str = "InstruNET";
    const VENDOR: &'static str = "InstruNET";
    const URL: &'static str = "https://example.invalid/instrunet";
    const EMAIL: &'static str = "instrunet@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];
    // Notes, and controller changes for the per-class CC output.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;

    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    type Editor = nice_plug_egui::EguiEditor<editor::MetersApp>;

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.shared.clone(),
            self.status.clone(),
        )
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Everything the audio thread will use is made here: the model (kept between
        // activations while the weights path stays), the engine's block pool and its worker.
        self.deactivate();
        // Deactivation ended every note this instance sent; a new stream starts from silence.
        self.notes.forget();
        self.cc_output.reset();
        self.was_bypassed = false;
        self.dropped_before = self.shared.dropped_blocks();
        let path = self.params.weights_path.lock().trim().to_owned();
        let (classifier, mut status) = match self.idle_model.take() {
            Some(idle) if idle.path == path => (Ok(idle.classifier), idle.status),
            _ => {
                let (weights, status) = load_model(&path);
                (
                    Classifier::new(&weights, &instrunet_model::Device::Cpu),
                    status,
                )
            }
        };
        status.sample_rate = buffer_config.sample_rate;
        status.analysis_off = None;
        let classifier = match classifier {
            Ok(c) => c,
            Err(e) => {
                // Activation still succeeds: the audio passes through, and the editor says why
                // nothing is analysed.
                status.analysis_off = Some(format!("cannot run the model: {e}"));
                *self.status.lock() = status;
                return true;
            }
        };
        self.n_classes = classifier.n_classes().min(CLASS_MIDI_PARAMS);
        self.copy_settings();
        let running = (path, status.clone());
        match Engine::start(
            classifier,
            buffer_config.sample_rate.round() as u32,
            self.shared.clone(),
        ) {
            Ok(engine) => {
                self.engine = Some(engine);
                self.running = Some(running);
            }
            // A rate the engine does not analyse (e.g. a validator's 1.2 MHz) or no thread:
            // activation still succeeds, the audio passes through untouched, no notes or CCs go
            // out, and the editor says why.
            Err(e) => status.analysis_off = Some(e.to_string()),
        }
        *self.status.lock() = status;
        true
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // The audio passes through untouched: the buffer is never written.
        let frames = buffer.samples();
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        let bypassed = self.params.bypass.value();
        if bypassed && !self.was_bypassed {
            // Bypassed, nothing is analysed: the stream ends here, the lights go out, and the
            // analysis starts afresh (not from stale frames) when the bypass ends.
            engine.audio().reset();
        }
        self.was_bypassed = bypassed;
        let channels = buffer.as_slice_immutable();
        if !bypassed && !channels.is_empty() && frames > 0 {
            let (a, b): (&[f32], &[f32]) = (channels[0], channels[channels.len().min(2) - 1]);
            let refs = [a, b];
            let mode = match self.params.input.value() {
                InputChannels::Mix => ChannelMode::Mix,
                InputChannels::Left => ChannelMode::Left,
                InputChannels::Right => ChannelMode::Right,
            };
            engine
                .audio()
                .push(&refs[..channels.len().min(2)], frames, mode);
        }
        self.copy_settings();
        // One read of the latest analysis for notes and CCs: its "present" bits are the gate's
        // decision, the same the editor shows.
        let analyses = if self.shared.latest(&mut self.latest) {
            self.latest.index + 1
        } else {
            0
        };
        self.send_notes(bypassed, context);
        self.send_ccs(bypassed, analyses, context);
        ProcessStatus::Normal
    }

    /// The host's reset (transport jumps, loops; also right after activation): the analysis
    /// starts afresh on the audio that follows, and nothing is present until its first result,
    /// so held notes end in the next `process()` (events cannot be sent from here).
    fn reset(&mut self) {
        if let Some(engine) = self.engine.as_mut() {
            engine.audio().reset();
        }
        self.cc_output.reset();
    }

    fn deactivate(&mut self) {
        if let Some(engine) = self.engine.take() {
            let dropped = self.shared.dropped_blocks() - self.dropped_before;
            if dropped > 0 {
                // Worth a line in the host's log: the meters and notes missed that audio.
                nice_warn!(
                    "InstruNET: the analysis fell behind and dropped {dropped} input blocks ({:.2} s \
                     of audio) in this activation",
                    (dropped as usize * BLOCK_LEN) as f32 / self.status.lock().sample_rate
                );
            }
            let classifier = engine.stop();
            if let (Some(classifier), Some((path, status))) = (classifier, self.running.take()) {
                self.idle_model = Some(IdleModel {
                    path,
                    classifier,
                    status,
                });
            }
        }
    }
}

impl Instrunet {
    /// The parameters the worker follows (hop, the gate's thresholds and hysteresis), copied
    /// into the engine's shared state: atomics, no allocation.
    fn copy_settings(&self) {
        let p = &self.params;
        self.shared.set_hop_seconds(p.hop_ms.value() / 1000.0);
        self.shared.set_gate(
            p.model_thresholds.value(),
            p.threshold.value(),
            p.hysteresis.value(),
        );
    }

    /// A note per present class while MIDI out is on and not bypassed ([`NoteOutput`] decides
    /// what goes out).
    fn send_notes(&mut self, bypassed: bool, context: &mut impl ProcessContext<Self>) {
        use nice_plug::midi::{Channel, Key, VoiceID};
        let n = self.n_classes;
        for (key, class) in self.keys.iter_mut().zip(&self.params.per_class) {
            *key = class.note.value().clamp(0, 127) as u8;
        }
        let enabled = self.params.midi_out.value() && !bypassed;
        let channel = (self.params.midi_channel.value() - 1).clamp(0, 15) as u8;
        self.notes.update(
            self.latest.present,
            enabled,
            channel,
            &self.keys[..n],
            |m| {
                let (channel, key) = (Channel::Number(m.channel), Key::Number(m.key));
                let event = if m.on {
                    NoteEvent::NoteOn {
                        timing: 0,
                        voice_id: VoiceID::Wildcard,
                        channel,
                        key,
                        velocity: 0.8,
                    }
                } else {
                    NoteEvent::NoteOff {
                        timing: 0,
                        voice_id: VoiceID::Wildcard,
                        channel,
                        key,
                        velocity: 0.0,
                    }
                };
                context.try_send_event(event).is_ok()
            },
        );
    }

    /// Each class's smoothed probability as a controller value, on the MIDI channel of the
    /// notes, when the CC output is on and not bypassed ([`CcOutput`] decides what goes out).
    fn send_ccs(&mut self, bypassed: bool, analyses: u64, context: &mut impl ProcessContext<Self>) {
        if bypassed || !self.params.midi_cc.value() {
            self.cc_output.reset();
            return;
        }
        let n = self.n_classes;
        for (cc, class) in self.ccs.iter_mut().zip(&self.params.per_class) {
            *cc = class.cc.value().clamp(0, midi_cc::MAX_CC as i32) as u8;
        }
        let channel = (self.params.midi_channel.value() - 1).clamp(0, 15) as u8;
        self.cc_output.update(
            analyses,
            &self.latest.probabilities[..n],
            self.params.hop_ms.value() / 1000.0,
            self.params.cc_smoothing_ms.value() / 1000.0,
            channel,
            &self.ccs[..n],
            |e| {
                context
                    .try_send_event(NoteEvent::MidiCC {
                        timing: 0,
                        channel: e.channel,
                        cc: e.cc,
                        value: e.value as f32 / 127.0,
                    })
                    .is_ok()
            },
        );
    }
}

impl ClapPlugin for Instrunet {
    const CLAP_ID: &'static str = "org.instrunet.instrunet";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Shows, live, which instruments are playing: 14 classes, with MIDI notes per class");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Utility,
    ];
}

impl Vst3Plugin for Instrunet {
    const VST3_CLASS_ID: [u8; 16] = *b"InstruNETanalyz1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Instrunet);
nice_export_vst3!(Instrunet);
