//! Crash points for the crash tests: in debug builds, `PHOTOX_CRASH_AT=<point>` aborts the
//! process (no destructors, no cleanup: what a kill -9 or a power cut leaves) when execution
//! reaches that point. Release builds compile them to nothing.

/// Aborts the process here if `PHOTOX_CRASH_AT` names `point` (debug builds only).
pub fn reached(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("PHOTOX_CRASH_AT").is_ok_and(|at| at == point) {
        eprintln!("crash point {point} reached: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
