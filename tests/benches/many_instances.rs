//! Many InstruNET instances in one process, as a DAW session with the plugin on dozens of tracks:
//! each instance gets its own song (composed and rendered here, 48 kHz), all run at the default
//! 250 ms hop, and one host thread calls every instance's `process()` for each 512-frame period,
//! paced in real time as an audio interface would.
//!
//! Reported per run: CPU time of the whole process per second of audio (cores busy; the machine
//! has two), the host (audio) thread's share of it, periods the host thread finished late,
//! blocks the instances dropped because their analysis fell behind (each instance logs its
//! count at deactivation, read back from the plugin's log), and instances that sent notes.
//!
//! ```sh
//! cargo xtask bundle instrunet --release
//! INSTRUNET_CLAP=target/bundled/InstruNET.clap INSTRUNET_INSTANCES=64,100 \
//!     cargo bench -p instrunet-tests --bench many_instances
//! ```
//! `INSTRUNET_SECONDS` sets the audio length (default 30 s), `INSTRUNET_SONGS` the number of
//! different songs (default 16; instance `i` plays song `i mod songs` from its own offset),
//! `INSTRUNET_HOST_RT=0` keeps the host thread at normal priority.

use std::time::{Duration, Instant};

use instrunet_tests::clap_host::{Driver, load_entry, new_instance};

const RATE: f64 = 48_000.0;
const PERIOD: usize = 512;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// CPU seconds (user + system) of the process or of the calling thread, from /proc.
fn cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).expect("/proc is readable");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// `n` songs of at least `seconds`, each with its own composition and SoundFont draw.
fn songs(n: usize, seconds: f64) -> Vec<Vec<f32>> {
    use instrunet_training::synth::compose::{compose, song_seed};
    use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
    use instrunet_training::synth::render::render_track;
    let fonts: Vec<Font> = installed_training_soundfonts()
        .expect("the training SoundFonts are installed (scripts/ensure-tools.sh)")
        .iter()
        .map(|p| Font::load(p).unwrap())
        .collect();
    let dir = std::env::temp_dir().join(format!("instrunet-many-{}", std::process::id()));
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < n {
        std::fs::create_dir_all(&dir).unwrap();
        let song = compose(song_seed(99_001, i));
        render_track(
            &song.to_midi(),
            "bench",
            &fonts,
            RATE as u32,
            i,
            false,
            &dir,
            "Track",
        )
        .unwrap();
        let audio = instrunet_training::data::audio::read_mono(&dir.join("Track").join("mix.wav"))
            .expect("the rendered mix reads back")
            .samples;
        std::fs::remove_dir_all(&dir).ok();
        i += 1;
        if audio.len() as f64 >= seconds * RATE {
            out.push(audio);
        }
    }
    out
}

/// Puts the calling (host) thread at real-time priority while it processes, as a DAW runs its
/// audio thread, where the system allows it (and back to normal for activation, which a DAW does
/// on another thread: the plugin's worker threads would inherit the policy); says which it got.
fn host_thread_priority(real_time: bool) -> &'static str {
    if real_time && std::env::var("INSTRUNET_HOST_RT").is_ok_and(|v| v == "0") {
        return "normal priority (INSTRUNET_HOST_RT=0)";
    }
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread.
    unsafe {
        let (policy, priority) = if real_time {
            (libc::SCHED_FIFO, 10)
        } else {
            (libc::SCHED_OTHER, 0)
        };
        let param = libc::sched_param {
            sched_priority: priority,
        };
        if libc::pthread_setschedparam(libc::pthread_self(), policy, &param) == 0 && real_time {
            return "real-time (SCHED_FIFO 10) while processing, as a DAW's audio thread";
        }
    }
    "normal priority (real-time refused by the system)"
}

fn main() {
    if std::env::var_os("INSTRUNET_CLAP").is_none() {
        eprintln!("many_instances: set INSTRUNET_CLAP to a built InstruNET.clap; nothing measured");
        return;
    }
    let counts: Vec<usize> = env_or("INSTRUNET_INSTANCES", "64")
        .split(',')
        .map(|c| {
            c.trim()
                .parse()
                .expect("INSTRUNET_INSTANCES: numbers, comma-separated")
        })
        .collect();
    let seconds: f64 = env_or("INSTRUNET_SECONDS", "30").parse().unwrap();
    let n_songs: usize = env_or("INSTRUNET_SONGS", "16").parse().unwrap();
    // Each instance logs its dropped blocks at deactivation; the log goes to this file.
    let log = std::env::temp_dir().join(format!("instrunet-many-{}.log", std::process::id()));
    // SAFETY: set before any thread of ours or the plugin's exists.
    unsafe { std::env::set_var("NICE_LOG", &log) };
    let started = Instant::now();
    let songs = songs(n_songs, seconds);
    eprintln!(
        "rendered {} songs in {:.0} s",
        songs.len(),
        started.elapsed().as_secs_f64()
    );
    let entry = load_entry();
    let periods = (seconds * RATE) as usize / PERIOD;
    println!(
        "| instances | audio s | process CPU s per audio s | host thread | late periods | dropped blocks | instances with notes |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &count in &counts {
        std::fs::write(&log, "").unwrap();
        let mut instances: Vec<_> = (0..count).map(|_| new_instance(&entry)).collect();
        let mut drivers: Vec<Driver> = instances
            .iter_mut()
            .map(|i| Driver::start(i, RATE))
            .collect();
        // Instance i: song i mod n, from an offset of its own, as a mono source on both sides.
        let sources: Vec<&[f32]> = (0..count)
            .map(|i| {
                let song = &songs[i % songs.len()];
                let spare = song.len() - (seconds * RATE) as usize;
                let offset = (i / songs.len() * 7 * RATE as usize) % (spare + 1);
                &song[offset..]
            })
            .collect();
        let mut out = [Vec::with_capacity(PERIOD), Vec::with_capacity(PERIOD)];
        let mut notes: Vec<Vec<_>> = (0..count).map(|_| Vec::new()).collect();
        let period = Duration::from_secs_f64(PERIOD as f64 / RATE);
        let priority = host_thread_priority(true);
        let (cpu0, host0) = (
            cpu_seconds("/proc/self/stat"),
            cpu_seconds("/proc/thread-self/stat"),
        );
        let t0 = Instant::now();
        let mut late = 0;
        for p in 0..periods {
            let deadline = t0 + period * (p as u32 + 1);
            for (i, driver) in drivers.iter_mut().enumerate() {
                let block = &sources[i][p * PERIOD..(p + 1) * PERIOD];
                out[0].clear();
                out[1].clear();
                driver.block(block, block, &[], &mut out, &mut notes[i]);
            }
            let now = Instant::now();
            if now > deadline {
                late += 1;
            } else {
                std::thread::sleep(deadline - now);
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        host_thread_priority(false);
        let (cpu1, host1) = (
            cpu_seconds("/proc/self/stat"),
            cpu_seconds("/proc/thread-self/stat"),
        );
        for (driver, instance) in drivers.into_iter().zip(instances.iter_mut()) {
            driver.stop(instance);
        }
        drop(instances);
        let audio = (periods * PERIOD) as f64 / RATE;
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(first) = logged.lines().find(|l| l.contains("dropped")) {
            eprintln!("{count} instances, the plugins' log says e.g.: {first}");
        }
        let dropped: u64 = logged
            .lines()
            .filter_map(|l| l.split("dropped ").nth(1))
            .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        let with_notes = notes
            .iter()
            .filter(|n| n.iter().any(|&(on, _, _)| on))
            .count();
        println!(
            "| {count} | {audio:.1} (wall {wall:.1}) | {:.3} | {:.3} | {late} of {periods} | {dropped} | {with_notes} |",
            (cpu1 - cpu0) / audio,
            (host1 - host0) / audio,
        );
        eprintln!("{count} instances: host thread {priority}");
    }
    std::fs::remove_file(&log).ok();
}
