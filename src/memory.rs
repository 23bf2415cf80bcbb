//! Allocator settings for a small resident footprint.
//!
//! glibc raises its mmap threshold each time a large mmapped block is freed, so after the first
//! Argon2 hash (19 MiB) such buffers come from per-thread arenas and stay resident: measured here,
//! 30 logins left the daemon at 250 MB RSS. Pinning the threshold disables that adjustment, so
//! every buffer of 1 MiB or more is mapped on allocation and unmapped on free.

/// Buffers from this size up are mmapped and returned to the OS on free.
const MMAP_THRESHOLD: i32 = 1024 * 1024;
/// At most this many malloc arenas (glibc's default is 8 per core).
const ARENA_MAX: i32 = 4;
/// Free memory kept at the top of an arena instead of being handed back at once. Pinning the
/// mmap threshold leaves glibc's trim threshold at 128 KiB, so the buffers an upload streams
/// through (a few hundred KiB each, a few MiB in flight) went back to the OS as soon as they
/// were freed and every received page was faulted in anew: ~13,000 page faults per 50 MB
/// upload, about 15 % of its CPU time. Keeping up to this much per arena makes them reused.
const TRIM_THRESHOLD: i32 = 4 * 1024 * 1024;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_large_buffers_to_the_os() {
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_buffers_to_the_os() {}

/// Hands freed heap memory back to the OS (glibc's `malloc_trim`): after a large structure of
/// many small allocations is dropped (the tagging model), its pages would otherwise stay
/// resident in the malloc arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages to the OS; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
