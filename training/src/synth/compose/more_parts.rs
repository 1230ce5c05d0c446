//! More parts of a class a song already has: people's General MIDI songs give one class two or
//! three parts in different roles (a rhythm and a lead guitar, strings on a pad and on the tune,
//! two synth leads). Of the game-songs proxy's 109 songs, those with a guitar have two or more
//! guitar stems in 60 %, strings 57 %, piano 49 %, synth lead 43 %, synth pad 36 %
//! (`training/tools/class_parts.py`); the composer's songs at real priors never do, and at even
//! priors about one in nine per class. So people's songs carry 6.1 melodic stems on 3.8 classes,
//! the composer's real-prior songs 3.3 on 3.3: denser mixes, each part further under the mix,
//! and one class heard in two roles at once.

use instrunet_model::InstrumentClass;
use rand::{Rng, rngs::StdRng};

use super::orchestration::{draw_weighted, people_part, people_roles, plan_activity};
use super::parts::play_part;
use super::song::{Part, Role, Song};

/// The chance that a song with a part of `class` has another one, in people's songs (the
/// game-songs proxy; classes in fewer than 12 of its songs shrunk toward 0.2 as if 5 more songs
/// had it at that rate). Drums: a song has one kit.
pub fn people_more_parts_share(class: InstrumentClass) -> f64 {
    use InstrumentClass as C;
    match class {
        C::Guitar => 0.60,
        C::Strings => 0.57,
        C::Piano => 0.49,
        C::SynthLead => 0.43,
        C::SynthPad => 0.36,
        C::Reed => 0.33,
        C::SoundEffects => 0.22,
        C::ChromaticPercussion => 0.19,
        C::Bass => 0.16,
        C::Ethnic => 0.14,
        C::Pipe => 0.13,
        C::Brass => 0.12,
        C::Organ => 0.06,
        C::Drums => 0.0,
    }
}

/// Gives each melodic class of the song, with chance `scale` times [`people_more_parts_share`],
/// one more part (then a second with chance a half, a third with a quarter: people's songs with
/// several guitars or string parts have about three), each in a role of that class its parts do
/// not play yet where one is left, on a program of the class for it, on the lowest free MIDI
/// channel (none left: no more). A new part plays in the sections its role would, but not in one
/// the song leaves to a single part. The song's other parts are left exactly as they were.
pub fn add_more_parts(song: &mut Song, scale: f64, rng: &mut StdRng) {
    if scale <= 0.0 {
        return;
    }
    let mut classes: Vec<InstrumentClass> = Vec::new();
    for part in song.parts.iter().filter(|p| !p.is_drum()) {
        if !classes.contains(&part.class) {
            classes.push(part.class);
        }
    }
    let exposed: Vec<bool> = (0..song.sections.len())
        .map(|s| {
            song.parts
                .iter()
                .filter(|p| p.active.get(s).copied().unwrap_or(false))
                .count()
                == 1
        })
        .collect();
    let mut taken: Vec<u8> = song.parts.iter().map(|p| p.channel).collect();
    let mut added = Vec::new();
    for class in classes {
        if !rng.random_bool((scale * people_more_parts_share(class)).min(1.0)) {
            continue;
        }
        let wanted = 1 + rng.random_bool(0.5) as usize * (1 + rng.random_bool(0.5) as usize);
        for _ in 0..wanted {
            let Some(channel) = (0..16u8).find(|c| *c != 9 && !taken.contains(c)) else {
                break;
            };
            let playing: Vec<Role> = song
                .parts
                .iter()
                .chain(&added)
                .filter(|p: &&Part| p.class == class)
                .map(|p| p.role)
                .collect();
            let mut options: Vec<(Role, f64)> = people_roles(class)
                .iter()
                .copied()
                .filter(|(r, _)| *r != Role::Drums && !playing.contains(r))
                .collect();
            if options.is_empty() {
                options = people_roles(class).to_vec();
            }
            let role = draw_weighted(rng, &options);
            let mut part = people_part(rng, class, role, channel);
            part.active = plan_activity(rng, song, role);
            for (active, alone) in part.active.iter_mut().zip(&exposed) {
                *active &= !alone;
            }
            part.notes = play_part(rng, song, &part);
            if !part.notes.is_empty() {
                taken.push(channel);
                added.push(part);
            }
        }
    }
    song.parts.extend(added);
}

#[cfg(test)]
mod tests {
    use super::super::{ClassPriors, Roles, compose_doubled, compose_extended, song_seed};
    use super::*;

    #[test]
    fn scale_zero_leaves_the_song_as_it_was() {
        for i in 0..20 {
            let seed = song_seed(31, i);
            assert_eq!(
                compose_extended(seed, ClassPriors::Real, Roles::People, 0.0, 0.5).to_midi(),
                compose_doubled(seed, ClassPriors::Real, Roles::People, 0.5).to_midi()
            );
        }
    }

    #[test]
    fn real_prior_songs_get_a_class_twice_about_as_often_as_people_do() {
        let songs = 400;
        let (mut with_guitar, mut two_guitars, mut stems) = (0usize, 0usize, 0usize);
        for i in 0..songs {
            let seed = song_seed(32, i);
            let plain = compose_extended(seed, ClassPriors::Real, Roles::People, 0.0, 0.0);
            let song = compose_extended(seed, ClassPriors::Real, Roles::People, 1.0, 0.0);
            // The song's own parts come first and are unchanged.
            assert_eq!(plain.parts.len(), song.parts.len().min(plain.parts.len()));
            for (a, b) in plain.parts.iter().zip(&song.parts) {
                assert_eq!(
                    (a.program, a.channel, &a.notes),
                    (b.program, b.channel, &b.notes)
                );
            }
            let mut channels: Vec<u8> = song.parts.iter().map(|p| p.channel).collect();
            channels.sort();
            channels.dedup();
            assert_eq!(
                channels.len(),
                song.parts.len(),
                "song {i}: a channel twice"
            );
            let guitars = song
                .parts
                .iter()
                .filter(|p| p.class == InstrumentClass::Guitar)
                .count();
            with_guitar += (guitars > 0) as usize;
            two_guitars += (guitars > 1) as usize;
            stems += song.parts.iter().filter(|p| !p.is_drum()).count();
            for part in &song.parts[plain.parts.len()..] {
                assert!(!part.notes.is_empty() && !part.is_drum());
                assert!(plain.parts.iter().any(|p| p.class == part.class));
            }
        }
        let share = two_guitars as f64 / with_guitar as f64;
        // People's 60 %, less the parts whose plan left them silent.
        assert!(
            (0.45..0.7).contains(&share),
            "{two_guitars} of {with_guitar} songs with guitar"
        );
        let mean = stems as f64 / songs as f64;
        // People's 6.1 melodic stems per song; the composer's alone 3.3.
        assert!((4.3..7.0).contains(&mean), "{mean} melodic stems per song");
    }
}
