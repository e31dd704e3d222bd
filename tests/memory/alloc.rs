//! The counting allocator the memory test runs under: `std::alloc::System` with, per thread, the
//! live bytes requested, the live blocks, and the bytes glibc's malloc spends on them (each block
//! a chunk of `max(32, size + 8 rounded up to 16)` bytes on 64-bit Linux), so the figures are
//! what the server's heap holds, not only what the code asked for. Counting per thread keeps
//! the harness's other test threads out of a measure; a structure built and dropped on the test
//! thread is counted exactly, and the same code gives the same figures on every run.
//!
//! Hand-written rather than a counting-allocator crate: none found counts glibc's chunk sizes,
//! and the per-chunk overhead is a large part of small entries.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

/// Live heap of the current thread, as counted since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heap {
    /// Bytes the code asked for.
    pub requested: i64,
    /// Bytes of the malloc chunks holding them.
    pub chunks: i64,
    pub blocks: i64,
}

impl Heap {
    const ZERO: Heap = Heap { requested: 0, chunks: 0, blocks: 0 };

    /// What was allocated since `earlier` and is still live.
    pub fn since(self, earlier: Heap) -> Heap {
        Heap {
            requested: self.requested - earlier.requested,
            chunks: self.chunks - earlier.chunks,
            blocks: self.blocks - earlier.blocks,
        }
    }

    /// The chunk bytes per item, for `n` items.
    pub fn per(self, n: usize) -> f64 {
        self.chunks as f64 / n as f64
    }
}

thread_local! {
    static LIVE: Cell<Heap> = const { Cell::new(Heap::ZERO) };
}

/// The current thread's live heap.
pub fn live() -> Heap {
    LIVE.with(Cell::get)
}

/// glibc malloc's chunk for a request of `size` bytes on 64-bit: the size plus an 8-byte header,
/// rounded up to 16, at least 32 (its minimum chunk).
pub fn chunk(size: usize) -> i64 {
    ((size + 8).div_ceil(16) * 16).max(32) as i64
}

fn count(size: usize, sign: i64) {
    // `try_with`: allocations during the thread's teardown are not counted (the cell has no
    // destructor, so this never fails in practice).
    let _ = LIVE.try_with(|live| {
        let mut heap = live.get();
        heap.requested += sign * size as i64;
        heap.chunks += sign * chunk(size);
        heap.blocks += sign;
        live.set(heap);
    });
}

// SAFETY: every call is forwarded to `System` unchanged; counting only touches a thread-local
// `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size(), 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_glibc_sized() {
        assert_eq!([chunk(0), chunk(24), chunk(25), chunk(40), chunk(100)], [32, 32, 48, 48, 112]);
    }
}
