//! The resident memory of this process, for the footprint measurement and the
//! soak's bound.

/// Resident set size in bytes, from `/proc/self/statm` (second field, in
/// pages; 4 KiB pages assumed, as on x86-64 and most aarch64 Linux); `None`
/// where that file cannot be read.
pub fn resident() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
