//! The allocator's one setting that depends on the command: what mimalloc does with memory
//! a command frees.

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h` of the bundled v3): the bindings have
/// no constant for it. Checked by its default before it is set, below.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its default in v3 (`options.c`), in milliseconds; arenas wait ten times as long.
const PURGE_DELAY_DEFAULT: std::ffi::c_long = 1000;

/// Keeps the memory a batch command frees for its own reuse instead of handing it back to
/// the system a second or so later. A long screening frees and takes gigabytes window after window,
/// and the kernel zeroed every page again: on the Fujian-year bench, 131.7 of 640.6 CPU-s
/// were system time; with this, 45.8 of 554.2, and the year 418.7 → 356.0 s, at a peak RSS
/// of 16.3 GB instead of 14.8. Not for `serve`, which should give memory back; and not when
/// the option is not at its default (`MIMALLOC_PURGE_DELAY` set, or another mimalloc
/// whose option table differs).
pub fn keep_freed_memory() {
    // SAFETY: both calls only read and write an entry of mimalloc's option table, which
    // takes any option index and value at any time.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The index is the purge delay's: it holds that option's default until the call, and
    /// −1 after it.
    #[test]
    fn keeping_freed_memory_sets_the_purge_delay() {
        // SAFETY: reads an entry of the option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), super::PURGE_DELAY_DEFAULT);
        }
        super::keep_freed_memory();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), -1);
        }
    }
}
