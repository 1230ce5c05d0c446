//! The real-time promises: computing a Mel frame and classifying a window on the CPU allocate
//! nothing once the front end, the classifier and their scratch space exist. A counting global
//! allocator watches every allocation made by this test binary's threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use instrunet_model::{Classifier, MelFrontend};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(|a| a.get())
}

#[test]
fn a_mel_frame_and_a_window_allocate_nothing() {
    let mut classifier = Classifier::embedded_default();
    let spec = classifier.spec().clone();
    let mut fe = MelFrontend::new(&spec.mel);
    let frame: Vec<f32> = (0..spec.mel.n_fft)
        .map(|i| (i as f32 * 0.1).sin())
        .collect();
    let mut mel = vec![0.0; spec.mel.n_mels];
    let window: Vec<f32> = (0..spec.mel.window_len())
        .map(|i| -60.0 + (i % 40) as f32)
        .collect();
    let mut probs = vec![0.0; spec.n_classes()];
    // Warm up: thread-local workspaces (gemm's) and feature detection are set up on first use.
    fe.process_frame(&frame, &mut mel).unwrap();
    classifier.predict(&window, &mut probs).unwrap();

    let n = allocations(|| {
        for _ in 0..10 {
            fe.process_frame(&frame, &mut mel).unwrap();
        }
    });
    assert_eq!(n, 0, "MelFrontend::process_frame allocated");
    let n = allocations(|| {
        for _ in 0..3 {
            classifier.predict(&window, &mut probs).unwrap();
        }
    });
    assert_eq!(n, 0, "Classifier::predict allocated");
    // The counter works: a Vec allocates.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 100]))) > 0);
}
