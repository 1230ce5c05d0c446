//! The plugin's `process()` through its C ABI, as a host calls it: one 512-frame stereo block at
//! 48 kHz. The figure includes the harness's own work per call (copying the block into its
//! buffers, building the port lists, reading output events), so it is an upper bound.
//!
//! ```sh
//! cargo xtask bundle instrunet --release
//! INSTRUNET_CLAP=target/bundled/InstruNET.clap cargo bench -p instrunet-tests --bench clap_process
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use instrunet_tests::clap_host::{Driver, Rng, load_entry, new_instance};

fn process_block(c: &mut Criterion) {
    if std::env::var_os("INSTRUNET_CLAP").is_none() {
        eprintln!("clap_process: set INSTRUNET_CLAP to a built InstruNET.clap; nothing measured");
        return;
    }
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let rate = 48_000.0;
    let mut driver = Driver::start(&mut instance, rate);
    let mut rng = Rng(7);
    let left: Vec<f32> = (0..512).map(|_| 0.3 * rng.uniform()).collect();
    let right: Vec<f32> = (0..512).map(|_| 0.3 * rng.uniform()).collect();
    let mut sink = [Vec::with_capacity(512), Vec::with_capacity(512)];
    let mut notes = Vec::with_capacity(64);
    c.bench_function("clap process() 512-frame stereo block, 48 kHz", |b| {
        b.iter(|| {
            sink[0].clear();
            sink[1].clear();
            notes.clear();
            driver.block(&left, &right, &[], &mut sink, &mut notes);
        })
    });
    driver.stop(&mut instance);
}

criterion_group! {
    name = benches;
    // No plots: plotters' text backend here has no font registered (criterion's plots crash).
    config = Criterion::default().without_plots();
    targets = process_block
}
criterion_main!(benches);
