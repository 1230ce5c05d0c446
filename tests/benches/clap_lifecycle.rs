//! What a host's plugin scan and a session load cost, through the plugin's C ABI: creating an
//! instance (the factory call and `init()`) and destroying it, and the same with one activation
//! at 48 kHz in between (which loads the network and starts the worker thread).
//!
//! ```sh
//! cargo xtask bundle instrunet --release
//! INSTRUNET_CLAP=target/bundled/InstruNET.clap cargo bench -p instrunet-tests --bench clap_lifecycle
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use instrunet_tests::clap_host::{config, load_entry, new_instance};

fn lifecycle(c: &mut Criterion) {
    if std::env::var_os("INSTRUNET_CLAP").is_none() {
        eprintln!("clap_lifecycle: set INSTRUNET_CLAP to a built InstruNET.clap; nothing measured");
        return;
    }
    let entry = load_entry();
    c.bench_function("instantiate and destroy", |b| {
        b.iter(|| drop(new_instance(&entry)))
    });
    c.bench_function(
        "instantiate, activate at 48 kHz, deactivate, destroy",
        |b| {
            b.iter(|| {
                let mut instance = new_instance(&entry);
                let processor = instance
                    .activate(|_, _| (), config(48_000.0))
                    .expect("the plugin activates");
                instance.deactivate(processor);
            })
        },
    );
}

criterion_group! {
    name = benches;
    // No plots: plotters' text backend here has no font registered (criterion's plots crash).
    config = Criterion::default().without_plots().sample_size(20);
    targets = lifecycle
}
criterion_main!(benches);
