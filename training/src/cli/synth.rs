//! `instrunet synth`: composed songs, or the MIDI files of a folder, rendered into Slakh-format
//! tracks.

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub(crate) struct SynthArgs {
    /// Folder to write TrackNNNNN/ folders into (numbering continues after the tracks already
    /// there).
    #[arg(long)]
    out: PathBuf,
    /// How many tracks: songs to compose, or at most this many MIDI files with --midi-dir.
    #[arg(long)]
    tracks: Option<usize>,
    /// SoundFonts to draw from per stem (repeatable); default: the training fonts installed at
    /// their Debian paths.
    #[arg(long = "soundfont")]
    soundfonts: Vec<PathBuf>,
    /// Render the MIDI files (*.mid, *.midi) of this folder, one track each, as Slakh was made
    /// from Lakh MIDI, instead of composing songs.
    #[arg(long)]
    midi_dir: Option<PathBuf>,
    /// With --midi-dir: give every part a new General MIDI program from the composer's
    /// instrument picker (for score corpora whose parts are all piano or unnamed).
    #[arg(long, requires = "midi_dir")]
    arrange: bool,
    /// Write non-music tracks instead of songs: silence, room tone, noise, mains hum, clicks and
    /// speech (Debian's espeak-ng), alone or two layered, with no stems, so that every window is
    /// labelled "no instrument".
    #[arg(long, conflicts_with = "midi_dir")]
    non_music: bool,
    /// How often composed (or --arrange'd) songs draw each class: `even` (every class besides
    /// drums and bass equally often) or `real` (about as often as people's General MIDI
    /// arrangements use it: drums 87 % of the time ... ethnic 1.4 %), for sets that tune and
    /// judge thresholds at real priors.
    #[arg(long, default_value = "even", value_parser = ["even", "real"])]
    priors: String,
    /// Which roles classes play in composed (or --arrange'd) songs: `people` (every class in the
    /// roles people give it in General MIDI songs, at any register, with solos, duos and trios,
    /// thin parts and exposed sections) or `family` (one role family per class: the songs the
    /// shipped model trained on).
    #[arg(long, default_value = "people", value_parser = ["people", "family"])]
    roles: String,
    /// Render dry: no production effects on stems or mix (the shipped model's songs). By
    /// default each stem and the mix draw EQ, compression, saturation, chorus, a stereo spread
    /// heard in mono, reverb and level automation, written into metadata.yaml.
    #[arg(long)]
    dry: bool,
    /// Share of stems (0-1) played with the controls people's General MIDI files send beside the
    /// notes: mod-wheel vibrato on held string, wind and lead notes, expression swells,
    /// pitch-bend scoops on guitar, bass and lead lines, sustain pedal on pianos; drawn per stem
    /// by program and written into metadata.yaml. 0 (the default) renders the notes alone, as
    /// every set before issue 19's run 11 was.
    #[arg(long, default_value_t = 0.0, value_parser = crate::cli::common::probability)]
    performance: f64,
    /// Share of melodic stems (0-1) played with a formant shift of 1-4 semitones up or down
    /// (drawn per stem, written into metadata.yaml): the font's samples played lower and read
    /// back faster (or the reverse), so pitch and timing stay and the instrument sounds smaller
    /// or larger, a timbre no training font has. Drawn from a stream of its own: the songs,
    /// fonts and other settings are those of the same seed without it. 0 (the default): the
    /// fonts' own sound, as every set before issue 19's run 15.
    #[arg(long, default_value_t = 0.0, value_parser = crate::cli::common::probability)]
    formant_shift: f64,
    /// Share of composed songs (or --arrange'd pieces) (0-1) given one to three parts that double
    /// another part's notes on another class, in unison or an octave away (a flute over the
    /// violins, a riff on guitar and bass, organ and strings on one chord), as people's General
    /// MIDI songs do (21 % of their melodic stems share 80 % of their notes with another class's,
    /// the composer's 4-6 %, arranged corpus pieces 2 %). Drawn from a stream of their own: the
    /// song's other parts are those of the same seed without it. 0 (the default): no doubling,
    /// as every set before issue 19's run 22.
    #[arg(long, default_value_t = 0.0, value_parser = crate::cli::common::probability)]
    doubling: f64,
    /// Gives composed songs more parts of the classes they have, as people's General MIDI songs
    /// do (two or three guitars, strings on a pad and on the tune): each melodic class gets one
    /// to three more parts with this number (0-1) times the chance people's songs give it
    /// another (guitar 60 %, strings 57 %, piano 49 %, synth lead 43 % ... organ 6 %), each in a
    /// role of the class not yet played. Drawn from a stream of its own: the song's other parts
    /// are those of the same seed without it. With --roles people only; 0 (the default): none,
    /// as every set before issue 19's run 24.
    #[arg(long, default_value_t = 0.0, value_parser = crate::cli::common::probability)]
    more_parts: f64,
    /// Seed for the songs, the per-stem font choice and the timbre variation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sample rate of the written audio, Hz (default: the model's). The synthesiser runs at
    /// 44.1 kHz or above and lower rates are resampled from it, so no aliases; Slakh is at
    /// 44.1 kHz; the readers resample any rate to the model's.
    #[arg(long)]
    sample_rate: Option<u32>,
}

/// One track to make: a song to compose or a MIDI file to render.
enum SynthJob {
    Compose(u64),
    Midi(PathBuf),
    NonMusic,
}

pub fn synth(args: SynthArgs) -> anyhow::Result<()> {
    use instrunet_training::synth::compose::{
        ClassPriors, Roles, arrange_doubled, compose_extended, song_seed,
    };
    anyhow::ensure!(
        args.midi_dir.is_none() || args.arrange || args.priors == "even",
        "--priors applies to composed songs and to --arrange, not to MIDI files rendered as written"
    );
    anyhow::ensure!(
        args.midi_dir.is_none() || args.arrange || args.doubling == 0.0,
        "--doubling applies to composed songs and to --arrange, not to MIDI files rendered as written"
    );
    anyhow::ensure!(
        args.more_parts == 0.0 || (args.midi_dir.is_none() && args.roles == "people"),
        "--more-parts applies to songs the composer writes with --roles people, not to MIDI files or --roles family"
    );
    let priors = if args.priors == "real" {
        ClassPriors::Real
    } else {
        ClassPriors::Even
    };
    let roles = if args.roles == "family" {
        Roles::Family
    } else {
        Roles::People
    };
    use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
    use instrunet_training::synth::midi::{stems_from_midi_tracks, stems_to_midi};
    use instrunet_training::synth::negatives::render_non_music_track;
    use instrunet_training::synth::render::{Variation, render_track_with};
    let paths = if args.non_music {
        Vec::new()
    } else if args.soundfonts.is_empty() {
        installed_training_soundfonts().map_err(anyhow::Error::msg)?
    } else {
        args.soundfonts.clone()
    };
    let fonts = paths
        .iter()
        .map(|p| Font::load(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let jobs: Vec<SynthJob> = match &args.midi_dir {
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("mid") || x.eq_ignore_ascii_case("midi")
                    })
                })
                .collect();
            files.sort();
            files.truncate(args.tracks.unwrap_or(usize::MAX));
            anyhow::ensure!(!files.is_empty(), "no .mid files in {}", dir.display());
            files.into_iter().map(SynthJob::Midi).collect()
        }
        None if args.non_music => (0..args.tracks.unwrap_or(10))
            .map(|_| SynthJob::NonMusic)
            .collect(),
        None => (0..args.tracks.unwrap_or(10) as u64)
            .map(|i| SynthJob::Compose(song_seed(args.seed, i)))
            .collect(),
    };
    let rate = args
        .sample_rate
        .unwrap_or(instrunet_model::MelSettings::default().sample_rate);
    // Checked here too so that a bad rate stops the run before anything is written, not per track.
    anyhow::ensure!(
        instrunet_training::synth::render::RENDER_RATES.contains(&rate),
        "--sample-rate {rate}: choose between {} and {} Hz",
        instrunet_training::synth::render::RENDER_RATES.start(),
        instrunet_training::synth::render::RENDER_RATES.end()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let first_id = next_track_number(&args.out)?;
    let variation = Variation {
        production: !args.dry,
        performance: args.performance,
        formant: args.formant_shift,
    };
    let (mut ok, mut seconds, started) = (0usize, 0.0f64, std::time::Instant::now());
    // Per class: tracks it sounds in, and stems.
    let mut classes =
        std::collections::BTreeMap::<instrunet_model::InstrumentClass, (usize, usize)>::new();
    let bar = indicatif::ProgressBar::new(jobs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} tracks, {elapsed} elapsed, ~{eta} left  {msg}",
        )
        .expect("valid template"),
    );
    for (i, job) in jobs.iter().enumerate() {
        let id = format!("Track{:05}", first_id + i);
        let render_seed = song_seed(args.seed ^ 0x5eed, i as u64);
        let made = match job {
            SynthJob::NonMusic => {
                bar.set_message("non-music");
                render_non_music_track(render_seed, rate, &args.out, &id).map(|r| {
                    let what = r.0.non_music.clone().unwrap_or_default();
                    (r, what)
                })
            }
            SynthJob::Compose(song) => {
                let song = compose_extended(*song, priors, roles, args.more_parts, args.doubling);
                bar.set_message(format!("{:?}", song.style));
                let midi = song.to_midi();
                render_track_with(
                    &midi,
                    &format!("composer:{:016x}", song.seed),
                    &fonts,
                    rate,
                    render_seed,
                    variation,
                    &args.out,
                    &id,
                )
                .map(|r| (r, song.describe()))
            }
            SynthJob::Midi(file) => {
                bar.set_message(
                    file.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                std::fs::read(file)
                    .map_err(|e| format!("{}: {e}", file.display()))
                    .and_then(|bytes| {
                        if args.arrange {
                            Ok(stems_to_midi(&arrange_doubled(
                                &stems_from_midi_tracks(&bytes)?,
                                render_seed,
                                priors,
                                roles,
                                args.doubling,
                            )))
                        } else {
                            Ok(bytes)
                        }
                    })
                    .and_then(|midi| {
                        render_track_with(
                            &midi,
                            &file.display().to_string(),
                            &fonts,
                            rate,
                            render_seed,
                            variation,
                            &args.out,
                            &id,
                        )
                    })
                    .map(|r| (r, file.display().to_string()))
                    .map_err(|e| format!("{}: {e}", file.display()))
            }
        };
        match made {
            Ok(((meta, track_seconds), what)) => {
                ok += 1;
                seconds += track_seconds;
                let mut in_track = std::collections::BTreeSet::new();
                for stem in meta.stems.values() {
                    if let Ok(class) =
                        instrunet_model::InstrumentClass::from_stem(stem.program_num, stem.is_drum)
                    {
                        classes.entry(class).or_default().1 += 1;
                        in_track.insert(class);
                    }
                }
                for class in in_track {
                    classes.entry(class).or_default().0 += 1;
                }
                say(&bar, format!("{id}: {what}"));
            }
            Err(e) => say(&bar, format!("{id}: skipped: {e}")),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let took = started.elapsed().as_secs_f64();
    println!(
        "{ok} of {} tracks written to {}: {seconds:.0} s of audio in {took:.1} s ({:.0}x real time)",
        jobs.len(),
        args.out.display(),
        seconds / took.max(1e-9)
    );
    if args.non_music {
        return Ok(());
    }
    println!("{:<22} {:>7} {:>7}", "class", "tracks", "stems");
    for class in instrunet_model::InstrumentClass::ALL {
        let (t, s) = classes.get(&class).copied().unwrap_or_default();
        println!(
            "{:<22} {t:>7} {s:>7}  {}",
            class.name(),
            "#".repeat((t * 40).div_ceil(ok.max(1)))
        );
    }
    Ok(())
}

/// The number after the highest TrackNNNNN folder in `dir` (1 for an empty folder).
fn next_track_number(dir: &std::path::Path) -> anyhow::Result<usize> {
    let mut highest = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix("Track"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            highest = highest.max(n);
        }
    }
    Ok(highest + 1)
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output not a terminal).
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
