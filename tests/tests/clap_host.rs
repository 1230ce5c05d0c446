//! The built plugin through its C ABI, as a CLAP host loads it (on `clack-host`): passthrough,
//! MIDI out, parameters, state, activation cycles and real-time safety.
//!
//! These tests need the plugin built with nice-plug's allocation checks armed, which a plain
//! `cargo test` does not build; `scripts/test-all.sh` builds it (profile `release-checked`, feature
//! `assert_process_allocs`), bundles it and runs them with `INSTRUNET_CLAP` set to the bundle:
//!
//! ```sh
//! cargo xtask bundle instrunet --profile release-checked --features assert_process_allocs
//! INSTRUNET_CLAP=target/bundled/InstruNET.clap \
//!     cargo test --profile release-checked -p instrunet-tests --test clap_host -- --ignored --test-threads=1
//! ```
//!
//! In that build any allocation inside `process()` aborts the test process.

use std::sync::Mutex;

use instrunet_model::InstrumentClass;
use instrunet_tests::clap_host::*;

/// One test at a time: two of them count the process's threads.
static SERIAL: Mutex<()> = Mutex::new(());

fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The thread count once it is down to `want`, or after a second. A joined thread can still be
/// listed in /proc for a moment (the kernel wakes the joiner before it removes the task), so a
/// single look races; a thread that really outlives its owner stays listed.
fn threads_settled_to(want: usize) -> usize {
    let start = std::time::Instant::now();
    loop {
        let n = threads_now();
        if n <= want || start.elapsed() > std::time::Duration::from_secs(1) {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn output_is_the_input_bit_for_bit_at_44k1_and_48k_in_odd_and_changing_blocks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    for (rate, sizes) in [
        (44_100.0, vec![1usize, 31, 64, 512, 4096, 1000, 7, 333]),
        (48_000.0, vec![4096, 17, 2048, 1, 1, 960, 4095, 127]),
    ] {
        let len = (rate * 4.0) as usize;
        let left = hostile_noise(len, 1 + rate as u64);
        let right = hostile_noise(len, 2 + rate as u64);
        let mut driver = Driver::start(&mut instance, rate);
        let mut k = 0;
        let mut rng = Rng(rate as u64);
        // The listed sizes, then random sizes: every call may differ from the last.
        let mut next = || {
            k += 1;
            sizes
                .get(k - 1)
                .copied()
                .unwrap_or_else(|| 1 + rng.below(4096))
        };
        let mut notes = Vec::new();
        let [out_l, out_r] = driver.run(&left, &right, &mut next, rate, 0.0, &mut notes);
        driver.stop(&mut instance);
        for (name, got, want) in [("left", &out_l, &left), ("right", &out_r, &right)] {
            assert_eq!(got.len(), want.len());
            let first_diff = got
                .iter()
                .zip(want.iter())
                .position(|(g, w)| g.to_bits() != w.to_bits());
            assert_eq!(
                first_diff, None,
                "{rate} Hz {name}: output differs from the input"
            );
        }
    }
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn rates_the_engine_does_not_analyse_still_activate_and_pass_audio_through() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    for rate in [1_234_567.8, 500.0, 48_000.0] {
        let mut driver = Driver::start(&mut instance, rate);
        // CC out on and a threshold low enough that notes would fire if anything were analysed.
        let mut setup = values_of_texts(&mut instance, &ids, &[("Threshold", "0.02")]);
        setup.push((ids["Model thresholds"], 0.0));
        setup.push((ids["CC out"], 1.0));
        let signal = hostile_noise(192_000, 11);
        let (mut notes, mut out) = (Vec::new(), [Vec::new(), Vec::new()]);
        driver.block(&signal[..64], &signal[..64], &setup, &mut out, &mut notes);
        let rest = driver.run(
            &signal[64..],
            &signal[64..],
            &mut || 1024,
            // Paced as 48 kHz whatever the rate (500 Hz would take minutes in real time).
            48_000.0,
            0.5,
            &mut notes,
        );
        out[0].extend_from_slice(&rest[0]);
        let ccs = std::mem::take(&mut driver.ccs);
        driver.stop(&mut instance);
        assert!(
            out[0]
                .iter()
                .zip(&signal)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{rate} Hz: the output is not the input"
        );
        if rate == 48_000.0 {
            // The same instance analyses again at a rate the engine takes.
            assert!(!ccs.is_empty(), "48 kHz after the others: no CC");
        } else {
            assert!(
                notes.is_empty() && ccs.is_empty(),
                "{rate} Hz: MIDI sent without analysis: {notes:?} {ccs:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn bypass_passes_audio_releases_notes_and_stops_ccs_until_it_is_off_again() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    let bypass = ids["Bypass"];
    let rate = 48_000.0;
    let mut driver = Driver::start(&mut instance, rate);
    // A threshold low enough that noise lights every class, and CC out on.
    let mut setup = values_of_texts(
        &mut instance,
        &ids,
        &[("Threshold", "0.01"), ("Analysis hop", "100")],
    );
    setup.push((ids["Model thresholds"], 0.0));
    setup.push((ids["CC out"], 1.0));
    let signal = hostile_noise((rate * 12.0) as usize, 5);
    let third = signal.len() / 3;
    let (mut notes, mut out) = (Vec::new(), [Vec::new(), Vec::new()]);
    driver.block(&signal[..64], &signal[..64], &setup, &mut out, &mut notes);
    let run = |driver: &mut Driver,
               a: usize,
               b: usize,
               out: &mut [Vec<f32>; 2],
               notes: &mut Vec<Note>| {
        let got = driver.run(&signal[a..b], &signal[a..b], &mut || 480, rate, 0.3, notes);
        out[0].extend_from_slice(&got[0]);
    };
    run(&mut driver, 64, third, &mut out, &mut notes);
    let held_before: usize = notes.iter().map(|n| if n.0 { 1 } else { 0 }).sum::<usize>()
        - notes.iter().filter(|n| !n.0).count();
    assert!(held_before > 0, "no note held before bypass: {notes:?}");
    let ccs_before = driver.ccs.len();
    // Bypass on: every held note ends in that block, and nothing more goes out.
    let mut bypassed_notes = Vec::new();
    driver.block(
        &signal[third..third + 480],
        &signal[third..third + 480],
        &[(bypass, 1.0)],
        &mut out,
        &mut bypassed_notes,
    );
    assert_eq!(
        bypassed_notes.iter().filter(|n| !n.0).count(),
        held_before,
        "bypass released {bypassed_notes:?} of {held_before} held notes"
    );
    run(
        &mut driver,
        third + 480,
        2 * third,
        &mut out,
        &mut bypassed_notes,
    );
    assert!(
        bypassed_notes.iter().all(|n| !n.0),
        "a note-on while bypassed: {bypassed_notes:?}"
    );
    assert_eq!(driver.ccs.len(), ccs_before, "CCs while bypassed");
    // Bypass off: notes and CCs come back.
    let mut after = Vec::new();
    driver.block(
        &signal[2 * third..2 * third + 480],
        &signal[2 * third..2 * third + 480],
        &[(bypass, 0.0)],
        &mut out,
        &mut after,
    );
    run(
        &mut driver,
        2 * third + 480,
        signal.len(),
        &mut out,
        &mut after,
    );
    let ccs_after = driver.ccs.len();
    driver.stop(&mut instance);
    assert!(after.iter().any(|n| n.0), "no note after bypass went off");
    assert!(ccs_after > ccs_before, "no CC after bypass went off");
    assert!(
        out[0]
            .iter()
            .zip(&signal)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the output is not the input"
    );
    assert_eq!(out[0].len(), signal.len());
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn a_host_reset_releases_notes_and_the_analysis_starts_afresh() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    let rate = 48_000.0;
    let mut driver = Driver::start(&mut instance, rate);
    let mut setup = values_of_texts(
        &mut instance,
        &ids,
        &[("Threshold", "0.01"), ("Analysis hop", "100")],
    );
    setup.push((ids["Model thresholds"], 0.0));
    let signal = hostile_noise((rate * 10.0) as usize, 8);
    let half = signal.len() / 2;
    let (mut notes, mut out) = (Vec::new(), [Vec::new(), Vec::new()]);
    driver.block(&signal[..480], &signal[..480], &setup, &mut out, &mut notes);
    driver.run(
        &signal[480..half],
        &signal[480..half],
        &mut || 480,
        rate,
        0.3,
        &mut notes,
    );
    let held = notes.iter().filter(|n| n.0).count() - notes.iter().filter(|n| !n.0).count();
    assert!(held > 0, "no note held before the reset: {notes:?}");

    driver.reset();
    // Every held note ends in the first block after the reset.
    let mut after = Vec::new();
    driver.block(
        &signal[half..half + 480],
        &signal[half..half + 480],
        &[],
        &mut out,
        &mut after,
    );
    assert_eq!(
        after.iter().filter(|n| !n.0).count(),
        held,
        "the first block after the reset released {after:?} of {held} held notes"
    );
    assert!(after.iter().all(|n| !n.0));
    // The same audio goes on, but the analysis starts afresh: no note until a whole new window
    // (2.1 s) has been heard. Block by block, to see when the first note-on comes.
    let mut first_on = None;
    let mut pos = half + 480;
    while pos + 480 <= signal.len() {
        let mut got = Vec::new();
        driver.block(
            &signal[pos..pos + 480],
            &signal[pos..pos + 480],
            &[],
            &mut out,
            &mut got,
        );
        pos += 480;
        if first_on.is_none() && got.iter().any(|n| n.0) {
            first_on = Some((pos - half) as f64 / rate);
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(480.0 / rate * 0.3));
    }
    driver.stop(&mut instance);
    let first_on = first_on.expect("notes came back after the reset");
    println!("first note-on {first_on:.2} s after the reset");
    assert!(
        first_on >= 2.0,
        "a note {first_on:.2} s after the reset: the analysis did not start afresh"
    );
}

/// A composed song with drums and bass, rendered at `rate` and read back (mono).
fn song_with_drums_and_bass(rate: u32) -> Vec<f32> {
    use instrunet_training::synth::compose::{compose, song_seed};
    use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
    use instrunet_training::synth::render::render_track;
    let fonts: Vec<Font> = installed_training_soundfonts()
        .expect("the test command installs the SoundFonts")
        .iter()
        .map(|p| Font::load(p).unwrap())
        .collect();
    let song = (0..100)
        .map(|i| compose(song_seed(424_242, i)))
        .find(|s| {
            let has = |c: InstrumentClass| {
                s.parts
                    .iter()
                    .any(|p| p.class == c && p.active.iter().all(|&a| a))
            };
            has(InstrumentClass::Drums) && has(InstrumentClass::Bass)
        })
        .expect("a song with drums and bass throughout");
    let dir = std::env::temp_dir().join(format!("instrunet-clap-host-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    render_track(
        &song.to_midi(),
        "test",
        &fonts,
        rate,
        5,
        false,
        &dir,
        "Track00001",
    )
    .unwrap();
    let audio = instrunet_training::data::audio::read_mono(&dir.join("Track00001").join("mix.wav"))
        .expect("the rendered mix reads back");
    std::fs::remove_dir_all(&dir).ok();
    audio.samples
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn sends_a_note_per_class_heard_on_the_chosen_channel_and_releases_it_in_silence() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rate = 48_000.0;
    let song = song_with_drums_and_bass(rate as u32);
    let seconds = 20.0f64.min(song.len() as f64 / rate);
    let music = &song[..(seconds * rate) as usize];
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    let channel = ids["MIDI channel"];
    let channel_5 = value_of_text(&mut instance, channel, "5");
    // Bass's note, as the plugin's parameter says by default (CLAP: an integer parameter's value
    // is its plain value).
    let bass_note = ids[&format!("Note, class {}", InstrumentClass::Bass as usize + 1)];
    let bass_key = param_value(&mut instance, bass_note).round() as u16;
    let mut driver = Driver::start(&mut instance, rate);
    let mut notes = Vec::new();
    let mut sink = [Vec::new(), Vec::new()];
    // MIDI channel 5 (index 4), set as an automation event in the first block.
    driver.block(
        &music[..256],
        &music[..256],
        &[(channel, channel_5)],
        &mut sink,
        &mut notes,
    );
    let mut sizes = {
        let mut rng = Rng(9);
        move || 32 + rng.below(1500)
    };
    driver.run(
        &music[256..],
        &music[256..],
        &mut sizes,
        rate,
        0.2,
        &mut notes,
    );
    let after_music = notes.len();
    let silence = vec![0.0f32; (4.0 * rate) as usize];
    driver.run(&silence, &silence, &mut sizes, rate, 0.2, &mut notes);
    let ccs = std::mem::take(&mut driver.ccs);
    driver.stop(&mut instance);

    println!("notes: {notes:?}");
    assert!(
        ccs.is_empty(),
        "CCs sent while the CC output is off: {ccs:?}"
    );
    // Bass is the class the model finds in this 48 kHz render throughout (AP 0.99 on new songs at
    // 48 kHz). Its drums are not asserted: the model hears this song's sf_GMbank kit only now and
    // then (drum recall on new songs at 48 kHz is 0.90 and some kits are still missed;
    // model/STUDIES.md, "Alias-free renders"), a model weakness that `shipped_weights.rs` measures;
    // this test is about the MIDI out.
    assert!(
        notes[..after_music].contains(&(true, 4, bass_key)),
        "no note-on for key {bass_key} (Bass) on channel 5 while the song played: {notes:?}"
    );
    let keys_on: std::collections::BTreeSet<u16> = notes[..after_music]
        .iter()
        .filter(|n| n.0)
        .map(|n| n.2)
        .collect();
    assert!(
        keys_on.len() >= 2,
        "note-ons for one class only while a song of five parts played: {notes:?}"
    );
    assert!(
        notes.iter().all(|&(_, ch, _)| ch == 4),
        "notes on other channels: {notes:?}"
    );
    // Every note that went on went off, in order, by the end of the silence.
    let mut held = std::collections::BTreeSet::new();
    for &(on, _, key) in &notes {
        if on {
            assert!(held.insert(key), "note {key} on twice: {notes:?}");
        } else {
            assert!(held.remove(&key), "note {key} off while not on: {notes:?}");
        }
    }
    assert!(
        held.is_empty(),
        "notes still on after 4 s of silence: {held:?}"
    );
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn sends_each_class_as_a_controller_that_follows_it_entering_and_leaving() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rate = 48_000.0;
    let song = song_with_drums_and_bass(rate as u32);
    let seconds = 16.0f64.min(song.len() as f64 / rate);
    let music = &song[..(seconds * rate) as usize];
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    let bass = InstrumentClass::Bass as usize;
    let bass_cc_param = format!("CC, class {}", bass + 1);
    // CC out on, channel 3, 250 ms hop, the default smoothing (300 ms), and Bass moved to CC 20.
    let mut setup = values_of_texts(
        &mut instance,
        &ids,
        &[
            ("MIDI channel", "3"),
            ("Analysis hop", "250"),
            (bass_cc_param.as_str(), "20"),
        ],
    );
    setup.push((ids["CC out"], 1.0));
    let mut driver = Driver::start(&mut instance, rate);
    let mut notes = Vec::new();
    let mut sink = [Vec::new(), Vec::new()];
    let lead_in = vec![0.0f32; (4.0 * rate) as usize];
    driver.block(
        &lead_in[..256],
        &lead_in[..256],
        &setup,
        &mut sink,
        &mut notes,
    );
    let mut sizes = {
        let mut rng = Rng(21);
        move || 32 + rng.below(1500)
    };
    driver.run(
        &lead_in[256..],
        &lead_in[256..],
        &mut sizes,
        rate,
        0.2,
        &mut notes,
    );
    let music_from = lead_in.len() as u64;
    driver.run(music, music, &mut sizes, rate, 0.2, &mut notes);
    let music_to = music_from + music.len() as u64;
    let tail = vec![0.0f32; (8.0 * rate) as usize];
    driver.run(&tail, &tail, &mut sizes, rate, 0.2, &mut notes);
    let ccs = std::mem::take(&mut driver.ccs);
    driver.stop(&mut instance);

    let bass_ccs: Vec<&Cc> = ccs.iter().filter(|c| c.cc == 20).collect();
    println!(
        "{} CCs; Bass (CC 20): {:?}",
        ccs.len(),
        bass_ccs
            .iter()
            .map(|c| (format!("{:.2}", c.time as f64 / rate), c.value))
            .collect::<Vec<_>>()
    );
    // Where they go: channel 3, the classes' controllers (Bass moved to 20), never a channel
    // mode message (120-127), values in range.
    let n_classes = InstrumentClass::ALL.len();
    for c in &ccs {
        assert_eq!(c.channel, 2, "{c:?}");
        assert!(c.value <= 127, "{c:?}");
        let expected = c.cc == 20 || (102..102 + n_classes as u8).contains(&c.cc);
        assert!(
            expected && c.cc != 102 + bass as u8,
            "unexpected controller: {c:?}"
        );
    }
    // In order, only on change, and at most one per analysis hop per controller.
    let total_seconds = (music_to as f64 + tail.len() as f64) / rate;
    for cc in 0..128u8 {
        let mine: Vec<&Cc> = ccs.iter().filter(|c| c.cc == cc).collect();
        assert!(
            mine.windows(2)
                .all(|w| w[0].time <= w[1].time && w[0].value != w[1].value)
        );
        assert!(
            mine.len() as f64 <= total_seconds / 0.25 + 2.0,
            "CC {cc}: {} values in {total_seconds:.0} s at a 250 ms hop",
            mine.len()
        );
    }
    // Bass enters with the music and leaves after it: low before, high during, low at the end.
    let value_at = |t: u64| {
        bass_ccs
            .iter()
            .rev()
            .find(|c| c.time <= t)
            .map_or(0, |c| c.value)
    };
    assert!(
        value_at(music_from) <= 20,
        "Bass CC before the music: {}",
        value_at(music_from)
    );
    let peak = bass_ccs
        .iter()
        .filter(|c| c.time > music_from && c.time <= music_to + (rate as u64))
        .map(|c| c.value)
        .max()
        .unwrap_or(0);
    assert!(
        peak >= 100,
        "Bass CC peaked at {peak} while the bass played"
    );
    let last = bass_ccs.last().map_or(0, |c| c.value);
    assert!(last <= 10, "Bass CC still {last} after 8 s of silence");
    // Other classes were sent too (every class gets a value at the first analysis).
    let controllers: std::collections::BTreeSet<u8> = ccs.iter().map(|c| c.cc).collect();
    assert_eq!(controllers.len(), n_classes, "{controllers:?}");
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn parameters_and_the_weights_path_survive_save_and_restore() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut a = new_instance(&entry);
    let ids = param_ids(&mut a);
    for name in [
        "Threshold",
        "Model thresholds",
        "Hysteresis",
        "Meter release",
        "Analysis hop",
        "Input",
        "MIDI out",
        "MIDI channel",
    ] {
        assert!(ids.contains_key(name), "no parameter {name:?} in {ids:?}");
    }
    let mut changes = values_of_texts(
        &mut a,
        &ids,
        &[
            ("Threshold", "0.73"),
            ("MIDI channel", "7"),
            ("Analysis hop", "100"),
            ("Input", "Right"),
            ("Hysteresis", "0.12"),
        ],
    );
    changes.push((ids["Model thresholds"], 0.0));
    set_params(&mut a, &changes);
    // The plugin keeps f32 values: what it applied, to single precision.
    let changes: Vec<(ClapId, f64)> = changes
        .iter()
        .map(|&(id, want)| {
            let got = param_value(&mut a, id);
            assert!(
                (got - want).abs() < 1e-6,
                "flush set {id:?} to {got}, not {want}"
            );
            (id, got)
        })
        .collect();
    let saved = save_state(&mut a);

    let mut b = new_instance(&entry);
    for &(id, want) in &changes {
        assert_ne!(
            param_value(&mut b, id),
            want,
            "{id:?} starts at the changed value"
        );
    }
    load_state(&mut b, &saved);
    for &(id, want) in &changes {
        let got = param_value(&mut b, id);
        assert_eq!(got, want, "param {id:?} after save and restore");
    }

    // A state naming a weights file that is gone: the plugin still loads it, runs the embedded
    // model, and keeps the path for when the file comes back.
    // nice-plug's CLAP state: the JSON's length (u64, little-endian), then the JSON.
    let (len, json) = saved.split_at(8);
    assert_eq!(
        u64::from_le_bytes(len.try_into().unwrap()) as usize,
        json.len()
    );
    let mut json: serde_json::Value = serde_json::from_slice(json).unwrap_or_else(|e| {
        panic!(
            "state is not JSON ({e}): {:?}",
            String::from_utf8_lossy(json)
        )
    });
    let missing = "/nonexistent/instrunet-user.safetensors";
    json["fields"]["weights-path"] =
        serde_json::Value::String(serde_json::to_string(missing).unwrap());
    let json = json.to_string().into_bytes();
    let mut edited = (json.len() as u64).to_le_bytes().to_vec();
    edited.extend_from_slice(&json);
    let mut c = new_instance(&entry);
    load_state(&mut c, &edited);
    let mut driver = Driver::start(&mut c, 44_100.0);
    let noise = hostile_noise(44_100, 3);
    let mut notes = Vec::new();
    let out = driver.run(&noise, &noise, &mut || 512, 44_100.0, 0.0, &mut notes);
    driver.stop(&mut c);
    assert!(
        out[0]
            .iter()
            .zip(&noise)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    let again = String::from_utf8_lossy(&save_state(&mut c)).into_owned();
    assert!(
        again.contains(missing),
        "the weights path was lost: {again}"
    );
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn a_hundred_activations_leave_no_thread_and_no_growing_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let threads_before = threads_now();
    let noise = hostile_noise(4096 * 3, 4);
    let mut rss_after_10 = 0;
    for i in 0..100 {
        let rate = [44_100.0, 48_000.0, 96_000.0, 22_050.0][i % 4];
        let mut driver = Driver::start(&mut instance, rate);
        let mut notes = Vec::new();
        driver.run(&noise, &noise, &mut || 4096, rate, 0.0, &mut notes);
        driver.stop(&mut instance);
        assert_eq!(
            threads_settled_to(threads_before),
            threads_before,
            "activation {i}: a thread outlived the deactivation"
        );
        if i == 9 {
            rss_after_10 = resident_kib();
        }
    }
    let growth = resident_kib() as i64 - rss_after_10 as i64;
    println!(
        "resident memory after 10 activations {rss_after_10} KiB, growth over 90 more: {growth} KiB"
    );
    assert!(
        growth < 16 * 1024,
        "resident memory grew {growth} KiB over 90 activations"
    );
    drop(instance);
    assert!(
        threads_settled_to(threads_before) <= threads_before,
        "a thread outlived the instance"
    );
}

#[test]
#[ignore = "needs the release-checked plugin build: run by scripts/test-all.sh"]
fn process_allocates_nothing_at_any_rate_and_block_size() {
    // In the release-checked build an allocation inside process() aborts this process.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let ids = param_ids(&mut instance);
    let mut automation = values_of_texts(
        &mut instance,
        &ids,
        &[
            ("Analysis hop", "50"),
            ("Threshold", "0.02"),
            ("Input", "Left"),
            ("CC smoothing", "0"),
        ],
    );
    automation.push((ids["Model thresholds"], 0.0));
    // The CC output runs inside process() too.
    automation.push((ids["CC out"], 1.0));
    for rate in [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        for size in [1usize, 31, 64, 512, 4096, 0] {
            let mut driver = Driver::start(&mut instance, rate);
            let len = (rate * 4.0) as usize;
            // Noise with bad samples, over a sawtooth at 220 Hz: a sound the model hears as an
            // instrument, so that classes cross the low threshold and the MIDI path runs (the
            // shipped model leaves plain noise dark, as it should).
            let signal: Vec<f32> = hostile_noise(len, rate as u64 + size as u64)
                .iter()
                .enumerate()
                .map(|(i, &x)| x + 0.3 * ((i as f64 * 220.0 / rate).fract() as f32 - 0.5))
                .collect();
            let mut notes = Vec::new();
            let mut sink = [Vec::with_capacity(len + 8), Vec::with_capacity(len + 8)];
            // Automation inside process() too: fastest hop, a threshold low enough that notes
            // fire, the left channel only.
            driver.block(
                &signal[..1],
                &signal[..1],
                &automation,
                &mut sink,
                &mut notes,
            );
            let mut rng = Rng(rate as u64 ^ 77);
            let mut sizes = || if size == 0 { 1 + rng.below(4096) } else { size };
            driver.run(
                &signal[1..],
                &signal[1..],
                &mut sizes,
                rate,
                0.05,
                &mut notes,
            );
            let ccs = std::mem::take(&mut driver.ccs);
            driver.stop(&mut instance);
            let label = if size == 0 {
                "random sizes".to_string()
            } else {
                size.to_string()
            };
            println!(
                "{rate} Hz, blocks of {label}: {} note events, {} CCs",
                notes.len(),
                ccs.len()
            );
            assert!(
                !ccs.is_empty(),
                "{rate} Hz, blocks of {label}: no CC was sent"
            );
            // The MIDI path ran inside process() too (classes cross the low threshold).
            assert!(
                notes.iter().any(|n| n.0),
                "{rate} Hz, blocks of {label}: no note-on was sent"
            );
        }
    }
}
