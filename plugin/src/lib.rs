//! InstruNET as a VST3/CLAP plugin and standalone app.
//!
//! The plugin is a thin host wrapper around [`instrunet_model::realtime`]: `activate()` loads the
//! model and starts the engine's worker thread, `process()` passes the audio through untouched,
//! hands a mono copy to the engine's audio side and turns the latest probabilities into MIDI
//! notes, and `deactivate()` stops and joins the worker. The editor (`editor.rs`) only reads the
//! engine's shared atomics.

use std::sync::Arc;

use atomic_float::AtomicF32;
use instrunet_model::realtime::{ChannelMode, ClassGate, Engine, MAX_CLASSES, Shared};
use instrunet_model::{Classifier, Weights};
use nice_plug::prelude::*;
use parking_lot::Mutex;

mod editor;
pub mod midi_cc;
pub mod params;

use midi_cc::CcOutput;
use params::{CLASS_MIDI_PARAMS, InputChannels, InstrunetParams};

/// The model the plugin runs, and why it is that one.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    /// Where the weights came from: a path, or "embedded default model".
    pub source: String,
    /// Why user-chosen weights were not used, when they were not.
    pub problem: Option<String>,
    pub classes: Vec<String>,
    pub thresholds: Vec<f32>,
    pub sample_rate: f32,
    /// Why nothing is analysed in this activation (audio still passes through), when so.
    pub analysis_off: Option<String>,
}

/// Loads the weights the parameters ask for, falling back to the embedded model with the reason.
pub fn load_model(path: &str) -> (Weights, ModelStatus) {
    let embedded = || {
        Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS)
            .expect("the embedded weights are valid (tested)")
    };
    let (weights, source, problem) = if path.trim().is_empty() {
        (embedded(), "embedded default model".to_owned(), None)
    } else {
        match Weights::from_file(path.trim()) {
            Ok(w) => (w, path.trim().to_owned(), None),
            Err(e) => (
                embedded(),
                "embedded default model".to_owned(),
                Some(format!("{}: {e}", path.trim())),
            ),
        }
    };
    let status = ModelStatus {
        source,
        problem,
        classes: weights.spec.classes.clone(),
        thresholds: weights.spec.thresholds.clone(),
        sample_rate: 0.0,
        analysis_off: None,
    };
    (weights, status)
}

pub struct Instrunet {
    params: Arc<InstrunetParams>,
    shared: Arc<Shared>,
    hop_seconds: Arc<AtomicF32>,
    status: Arc<Mutex<ModelStatus>>,
    engine: Option<Engine>,
    gate: ClassGate,
    /// The model's thresholds, copied at activation for the audio thread.
    model_thresholds: [f32; MAX_CLASSES],
    n_classes: usize,
    probabilities: [f32; MAX_CLASSES],
    thresholds: [f32; MAX_CLASSES],
    /// Notes sounding, per class, so that a note-off matches its note-on after a parameter change.
    sounding: [Option<(u8, u8)>; MAX_CLASSES],
    cc_output: CcOutput,
    /// Each class's controller number, read from the parameters on every call.
    ccs: [u8; CLASS_MIDI_PARAMS],
}

impl Default for Instrunet {
    fn default() -> Self {
        let (_, status) = load_model("");
        Self {
            params: Arc::new(InstrunetParams::default()),
            shared: Arc::new(Shared::new()),
            hop_seconds: Arc::new(AtomicF32::new(0.25)),
            status: Arc::new(Mutex::new(status)),
            engine: None,
            gate: ClassGate::default(),
            model_thresholds: [0.5; MAX_CLASSES],
            n_classes: 0,
            probabilities: [0.0; MAX_CLASSES],
            thresholds: [0.5; MAX_CLASSES],
            sounding: [None; MAX_CLASSES],
            cc_output: CcOutput::default(),
            ccs: [0; CLASS_MIDI_PARAMS],
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
        // Everything the audio thread will use is made here: the model, the engine's block pool
        // and its worker thread.
        self.engine = None;
        // Deactivation ended every note this instance sent; a new stream starts from silence.
        self.sounding = [None; MAX_CLASSES];
        self.gate = ClassGate::default();
        self.cc_output.reset();
        let path = self.params.weights_path.lock().clone();
        let (weights, mut status) = load_model(&path);
        status.sample_rate = buffer_config.sample_rate;
        let classifier = match Classifier::new(&weights, &instrunet_model::Device::Cpu) {
            Ok(c) => c,
            Err(e) => {
                // Activation still succeeds: the audio passes through, and the editor says why
                // nothing is analysed.
                status.analysis_off = Some(format!("cannot run the model: {e}"));
                *self.status.lock() = status;
                return true;
            }
        };
        self.n_classes = weights.spec.n_classes().min(MAX_CLASSES);
        self.model_thresholds = [0.5; MAX_CLASSES];
        for (t, &m) in self
            .model_thresholds
            .iter_mut()
            .zip(&weights.spec.thresholds)
        {
            *t = m;
        }
        self.hop_seconds.store(
            self.params.hop_ms.value() / 1000.0,
            std::sync::atomic::Ordering::Relaxed,
        );
        match Engine::start(
            classifier,
            buffer_config.sample_rate.round() as u32,
            self.hop_seconds.clone(),
            self.shared.clone(),
        ) {
            Ok(engine) => self.engine = Some(engine),
            // A rate the engine does not analyse (e.g. a validator's 1.2 MHz): activation still
            // succeeds, the audio passes through untouched, no notes or CCs go out.
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
        let channels = buffer.as_slice_immutable();
        if !bypassed && !channels.is_empty() && frames > 0 {
            let (a, b): (&[f32], &[f32]) = (&channels[0], &channels[channels.len().min(2) - 1]);
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
        self.hop_seconds.store(
            self.params.hop_ms.value() / 1000.0,
            std::sync::atomic::Ordering::Relaxed,
        );
        // The count first: the probabilities read after it are that analysis's or newer.
        let analyses = self.shared.analyses();
        let n = self.n_classes;
        self.shared.latest_into(&mut self.probabilities[..n]);
        self.send_midi(bypassed, context);
        self.send_ccs(bypassed, analyses, context);
        ProcessStatus::Normal
    }

    /// The host's reset (transport jumps, loops; also right after activation): the analysis
    /// starts afresh on the audio that follows, the probabilities read zero until its first
    /// result, so held notes end in the next `process()` (events cannot be sent from here).
    fn reset(&mut self) {
        if let Some(engine) = self.engine.as_mut() {
            engine.audio().reset();
        }
        // Every class off: the held notes end in the next process() whatever the thresholds.
        self.gate = ClassGate::default();
        self.cc_output.reset();
    }

    fn deactivate(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.stop();
        }
    }
}

impl Instrunet {
    /// A note sounds while its class is present (on/off with hysteresis). The notes that sound
    /// are reconciled with the wanted ones on every call, so that a note the host could not take
    /// is sent again, and a changed note number or channel ends the old note first.
    /// Bypassed, every note is released.
    fn send_midi(&mut self, bypassed: bool, context: &mut impl ProcessContext<Self>) {
        use nice_plug::midi::{Channel, Key, VoiceID};
        let n = self.n_classes;
        let global = self.params.threshold.value();
        let use_model = self.params.model_thresholds.value();
        for k in 0..n {
            self.thresholds[k] = if use_model {
                self.model_thresholds[k]
            } else {
                global
            };
        }
        let hysteresis = self.params.hysteresis.value();
        self.gate.update(
            &self.probabilities[..n],
            &self.thresholds[..n],
            hysteresis,
            |_| {},
        );
        let midi = self.params.midi_out.value() && !bypassed;
        let channel = (self.params.midi_channel.value() - 1).clamp(0, 15) as u8;
        for k in 0..n.min(CLASS_MIDI_PARAMS) {
            let key = self.params.per_class[k].note.value().clamp(0, 127) as u8;
            let wanted = (midi && self.gate.is_on(k)).then_some((channel, key));
            if self.sounding[k] == wanted {
                continue;
            }
            if let Some((ch, key)) = self.sounding[k] {
                let off = NoteEvent::NoteOff {
                    timing: 0,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(ch),
                    key: Key::Number(key),
                    velocity: 0.0,
                };
                if context.try_send_event(off).is_err() {
                    continue;
                }
                self.sounding[k] = None;
            }
            if let Some((ch, key)) = wanted {
                let on = NoteEvent::NoteOn {
                    timing: 0,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(ch),
                    key: Key::Number(key),
                    velocity: 0.8,
                };
                if context.try_send_event(on).is_ok() {
                    self.sounding[k] = wanted;
                }
            }
        }
    }

    /// Each class's smoothed probability as a controller value, on the MIDI channel of the
    /// notes, when the CC output is on and not bypassed ([`CcOutput`] decides what goes out).
    fn send_ccs(&mut self, bypassed: bool, analyses: u64, context: &mut impl ProcessContext<Self>) {
        if bypassed || !self.params.midi_cc.value() {
            self.cc_output.reset();
            return;
        }
        let n = self.n_classes.min(CLASS_MIDI_PARAMS);
        for (cc, class) in self.ccs.iter_mut().zip(&self.params.per_class) {
            *cc = class.cc.value().clamp(0, midi_cc::MAX_CC as i32) as u8;
        }
        let channel = (self.params.midi_channel.value() - 1).clamp(0, 15) as u8;
        self.cc_output.update(
            analyses,
            &self.probabilities[..n],
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
