//! A minimal CLAP host for the built plugin, on `clack-host`: loads the `.clap` named by
//! `INSTRUNET_CLAP`, instantiates, reads and sets parameters, saves and loads state, and drives
//! `process()` in stereo block by block, collecting the output and the MIDI notes the plugin
//! sends. Used by `tests/tests/clap_host.rs` and `tests/benches/clap_process.rs`.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::PathBuf;
use std::time::Duration;

use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::Match;
use clack_host::events::event_types::{ParamValueEvent, TransportEvent};
use clack_host::events::spaces::CoreEventSpace;
pub use clack_host::prelude::*;

pub const PLUGIN_ID: &CStr = c"org.instrunet.instrunet";
pub const MAX_BLOCK: u32 = 4096;

pub struct TestHost;
pub struct TestShared;

impl SharedHandler<'_> for TestShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

pub fn plugin_path() -> PathBuf {
    let path = std::env::var_os("INSTRUNET_CLAP").expect(
        "set INSTRUNET_CLAP to the built InstruNET.clap (scripts/test-all.sh builds it and does)",
    );
    let path = PathBuf::from(path);
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}

pub fn load_entry() -> PluginEntry {
    // SAFETY: the file is our own plugin, built by the test command.
    unsafe { PluginEntry::load(plugin_path()) }.expect("the .clap loads")
}

pub fn new_instance(entry: &PluginEntry) -> PluginInstance<TestHost> {
    let host_info = HostInfo::new(
        "InstruNET test host",
        "InstruNET",
        "https://example.invalid",
        "0.1",
    )
    .unwrap();
    PluginInstance::<TestHost>::new(|_| TestShared, |_| (), entry, PLUGIN_ID, &host_info)
        .expect("the plugin instantiates")
}

pub fn config(sample_rate: f64) -> PluginAudioConfiguration {
    PluginAudioConfiguration {
        sample_rate,
        min_frames_count: 1,
        max_frames_count: MAX_BLOCK,
    }
}

/// Parameter ids by display name.
pub fn param_ids(instance: &mut PluginInstance<TestHost>) -> BTreeMap<String, ClapId> {
    let params: PluginParams = instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin has the params extension");
    let handle = instance.plugin_handle();
    let mut buffer = ParamInfoBuffer::new();
    (0..params.count(&handle))
        .map(|i| {
            let info = params.get_info(&handle, i, &mut buffer).unwrap();
            (String::from_utf8_lossy(info.name).into_owned(), info.id)
        })
        .collect()
}

/// The CLAP value a host would send for `text` typed into the parameter (nice-plug's CLAP values
/// are normalised, or step indices for stepped parameters, not the plain values).
pub fn value_of_text(instance: &mut PluginInstance<TestHost>, id: ClapId, text: &str) -> f64 {
    let params: PluginParams = instance.plugin_shared_handle().get_extension().unwrap();
    let c_text = std::ffi::CString::new(text).unwrap();
    params
        .text_to_value(&instance.plugin_handle(), id, &c_text)
        .unwrap_or_else(|| panic!("parameter {id:?} does not parse {text:?}"))
}

/// `(id, CLAP value)` for each `(parameter name, text)`, as `value_of_text` parses it.
pub fn values_of_texts(
    instance: &mut PluginInstance<TestHost>,
    ids: &BTreeMap<String, ClapId>,
    texts: &[(&str, &str)],
) -> Vec<(ClapId, f64)> {
    texts
        .iter()
        .map(|&(name, text)| {
            let id = ids[name];
            (id, value_of_text(instance, id, text))
        })
        .collect()
}

pub fn param_value(instance: &mut PluginInstance<TestHost>, id: ClapId) -> f64 {
    let params: PluginParams = instance.plugin_shared_handle().get_extension().unwrap();
    params.get_value(&instance.plugin_handle(), id).unwrap()
}

/// Sets parameters on an inactive plugin through `params.flush`.
pub fn set_params(instance: &mut PluginInstance<TestHost>, values: &[(ClapId, f64)]) {
    let params: PluginParams = instance.plugin_shared_handle().get_extension().unwrap();
    let mut events = EventBuffer::new();
    for &(id, v) in values {
        events.push(&ParamValueEvent::new(0, id, Pckn::match_all(), v));
    }
    let mut out = EventBuffer::new();
    let mut handle = instance.inactive_plugin_handle().unwrap();
    params.flush(&mut handle, &events.as_input(), &mut out.as_output());
}

pub fn save_state(instance: &mut PluginInstance<TestHost>) -> Vec<u8> {
    let state: PluginState = instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin has the state extension");
    let mut bytes = Vec::new();
    state
        .save(&instance.plugin_handle(), &mut bytes)
        .expect("state saves");
    bytes
}

pub fn load_state(instance: &mut PluginInstance<TestHost>, bytes: &[u8]) {
    let state: PluginState = instance.plugin_shared_handle().get_extension().unwrap();
    state
        .load(&instance.plugin_handle(), &mut &bytes[..])
        .expect("state loads");
}

/// A note event's (on?, channel, key); the plugin always names a channel and a key.
fn note(on: bool, pckn: Pckn) -> Note {
    let specific = |m: Match<u16>| m.into_specific().expect("a specific channel and key");
    (on, specific(pckn.channel), specific(pckn.key))
}

/// A MIDI note event the plugin sent: (note on?, channel 0-15, key).
pub type Note = (bool, u16, u16);

/// A MIDI controller change the plugin sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cc {
    /// Sample time of the block it came in (since the driver started), plus its offset.
    pub time: u64,
    /// 0-15.
    pub channel: u8,
    pub cc: u8,
    pub value: u8,
}

/// Drives an activated plugin in stereo, block by block, collecting its output, notes and
/// controller changes.
pub struct Driver {
    processor: StartedPluginAudioProcessor<TestHost>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    buffers: [Vec<f32>; 4],
    events_in: EventBuffer,
    events_out: EventBuffer,
    steady_time: u64,
    /// Every controller change sent so far, in order.
    pub ccs: Vec<Cc>,
}

impl Driver {
    pub fn start(instance: &mut PluginInstance<TestHost>, sample_rate: f64) -> Self {
        let processor = instance
            .activate(|_, _| (), config(sample_rate))
            .expect("the plugin activates");
        Self {
            processor: processor.start_processing().expect("processing starts"),
            input_ports: AudioPorts::with_capacity(2, 1),
            output_ports: AudioPorts::with_capacity(2, 1),
            buffers: std::array::from_fn(|_| vec![0.0; MAX_BLOCK as usize]),
            events_in: EventBuffer::with_capacity(16),
            events_out: EventBuffer::with_capacity(64),
            steady_time: 0,
            ccs: Vec::new(),
        }
    }

    /// The host's reset (a transport jump or loop), between two blocks.
    pub fn reset(&mut self) {
        self.processor.reset();
    }

    pub fn stop(self, instance: &mut PluginInstance<TestHost>) {
        instance.deactivate(self.processor.stop_processing());
    }

    /// Processes one block of `left`/`right` (equal lengths, at most `MAX_BLOCK`), with
    /// `params` as parameter events at its start. Returns the output and adds notes to `notes`.
    pub fn block(
        &mut self,
        left: &[f32],
        right: &[f32],
        params: &[(ClapId, f64)],
        out: &mut [Vec<f32>; 2],
        notes: &mut Vec<Note>,
    ) {
        let n = left.len();
        assert!(n >= 1 && n <= MAX_BLOCK as usize && right.len() == n);
        let [in_l, in_r, out_l, out_r] = &mut self.buffers;
        in_l[..n].copy_from_slice(left);
        in_r[..n].copy_from_slice(right);
        self.events_in.clear();
        for &(id, v) in params {
            self.events_in
                .push(&ParamValueEvent::new(0, id, Pckn::match_all(), v));
        }
        self.events_out.clear();
        let inputs = self.input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                [&mut in_l[..n], &mut in_r[..n]]
                    .into_iter()
                    .map(InputChannel::variable),
            ),
        }]);
        let mut outputs = self.output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                [&mut out_l[..n], &mut out_r[..n]].into_iter(),
            ),
        }]);
        let transport: Option<&TransportEvent> = None;
        self.processor
            .process(
                &inputs,
                &mut outputs,
                &self.events_in.as_input(),
                &mut self.events_out.as_output(),
                Some(self.steady_time),
                transport,
            )
            .expect("process succeeds");
        let block_start = self.steady_time;
        self.steady_time += n as u64;
        out[0].extend_from_slice(&out_l[..n]);
        out[1].extend_from_slice(&out_r[..n]);
        for event in self.events_out.iter() {
            match event.as_core_event() {
                Some(CoreEventSpace::NoteOn(e)) => notes.push(note(true, e.pckn())),
                Some(CoreEventSpace::NoteOff(e)) => notes.push(note(false, e.pckn())),
                Some(CoreEventSpace::Midi(e)) => {
                    let [status, key, velocity] = e.data();
                    let on = status & 0xF0 == 0x90 && velocity > 0;
                    if status & 0xE0 == 0x80 {
                        notes.push((on, (status & 0x0F) as u16, key as u16));
                    }
                    if status & 0xF0 == 0xB0 {
                        self.ccs.push(Cc {
                            time: block_start + e.header().time() as u64,
                            channel: status & 0x0F,
                            cc: key,
                            value: velocity,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// Processes a whole signal in blocks of the given sizes (cycled), sleeping `pace` of each
    /// block's duration so that the worker keeps up as it would in real time.
    pub fn run(
        &mut self,
        left: &[f32],
        right: &[f32],
        sizes: &mut dyn FnMut() -> usize,
        sample_rate: f64,
        pace: f64,
        notes: &mut Vec<Note>,
    ) -> [Vec<f32>; 2] {
        let mut out = [
            Vec::with_capacity(left.len()),
            Vec::with_capacity(left.len()),
        ];
        let mut pos = 0;
        while pos < left.len() {
            let n = sizes().clamp(1, MAX_BLOCK as usize).min(left.len() - pos);
            self.block(
                &left[pos..pos + n],
                &right[pos..pos + n],
                &[],
                &mut out,
                notes,
            );
            pos += n;
            if pace > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(n as f64 / sample_rate * pace));
            }
        }
        out
    }
}

/// A small deterministic generator (xorshift) for noise and block sizes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Noise with a few hostile samples: NaN, ±Inf, denormals, full scale and beyond.
pub fn hostile_noise(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let mut x: Vec<f32> = (0..len).map(|_| 0.5 * rng.uniform()).collect();
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -1e-42,
        1.0,
        -1.0,
        4.0,
    ];
    for (k, &s) in specials.iter().enumerate() {
        x[(k + 1) * len / (specials.len() + 2)] = s;
    }
    x
}
