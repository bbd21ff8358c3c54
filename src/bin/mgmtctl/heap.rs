//! Hands the heap memory that start-up used and freed back to the kernel before a
//! long-running command (`mgmtctl agent`) goes idle. Parsing the command line builds clap's
//! whole command tree, and start-up reads and parses more; glibc's allocator keeps those
//! freed pages resident below the memory still in use (it only shrinks the heap's top), so
//! without this an idle agent would keep about 100 KB it will not use again.

/// Returns the free pages inside the heap to the kernel (glibc's `malloc_trim(0)`: the pages
/// of free chunks are dropped with `MADV_DONTNEED`; what is in use is not touched). Done once,
/// after start-up: it is a walk over the heap, nothing an answer to a request waits for.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn release_free_pages() {
    // SAFETY: malloc_trim takes a size and only rearranges the allocator's own free memory;
    // it is thread-safe (it takes each arena's lock) and invalidates no allocation.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Other C libraries' allocators: nothing to do here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn release_free_pages() {}
