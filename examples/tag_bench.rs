//! Times photox's tagging (preprocess + inference) and measures the memory the model takes.
//!
//! Usage: tag_bench [--runs N] [--dump DIR] IMAGE...
//!
//! For each IMAGE: the median over N runs (default 15, after one warm-up) of preprocessing
//! (decode, orientation, centre crop, tensor), of inference (wall time, and the thread's CPU
//! time, which other processes on the core do not inflate), and of both. Prints one
//! `image=... preprocess_ms=... inference_ms=... inference_cpu_ms=... total_ms=... tags=...` line
//! per image, then
//! `rss_before_kb=... rss_loaded_kb=... rss_unloaded_kb=... anon_...=... load_ms=...`: RSS before
//! the model is loaded, after loading and the inferences, and after the idle unload; `anon_*` is
//! the anonymous part (heap), without the pages of the binary's own code. With `--dump DIR`
//! it writes each preprocessed input (`NAME.input.f32`, 1×3×224×224 little-endian f32) and its
//! logits (`NAME.logits.f32`) for `bench/tagging.sh` to run onnxruntime on the same input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use photox::config::{HumanDuration, TaggingConfig};
use photox::media::sniff::sniff_image;
use photox::tagging::model::preprocess;
use photox::tagging::Tagger;

fn main() {
    let mut runs = 15usize;
    let mut dump: Option<PathBuf> = None;
    let mut images = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|r| r.parse().ok()).expect("--runs N"),
            "--dump" => dump = Some(PathBuf::from(args.next().expect("--dump DIR"))),
            _ => images.push(PathBuf::from(arg)),
        }
    }
    if images.is_empty() {
        eprintln!("usage: tag_bench [--runs N] [--dump DIR] IMAGE...");
        std::process::exit(2);
    }
    // The daemon's allocator settings (src/main.rs), so that the figures are the daemon's.
    photox::memory::return_large_buffers_to_the_os();
    let config = TaggingConfig {
        idle_unload: HumanDuration(Duration::from_secs(1)),
        ..TaggingConfig::default()
    };
    let tagger = Tagger::new(&config);
    let (rss_before, anon_before) = (rss_kb(), anon_kb());
    let started = Instant::now();
    let model = tagger.model().expect("model loads");
    let load_ms = ms(started.elapsed());

    for (n, path) in images.iter().enumerate() {
        let kind = kind_of(path);
        let first = preprocess(path, kind, None).expect("preprocess");
        let logits = model.logits(first.clone()).expect("inference");
        if let Some(dir) = &dump {
            let name = path.file_name().unwrap().to_string_lossy();
            let input = first.to_plain_array_view::<f32>().unwrap();
            write_f32(&dir.join(format!("{name}.input.f32")), input.iter());
            write_f32(&dir.join(format!("{name}.logits.f32")), logits.iter());
        }
        let (mut pre, mut inf, mut total, mut cpu) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs.max(1) {
            let t0 = Instant::now();
            let input = preprocess(path, kind, None).expect("preprocess");
            let (t1, c1) = (Instant::now(), thread_cpu());
            let p = model.probabilities(input).expect("inference");
            let (t2, c2) = (Instant::now(), thread_cpu());
            std::hint::black_box(p);
            pre.push(ms(t1 - t0));
            inf.push(ms(t2 - t1));
            total.push(ms(t2 - t0));
            cpu.push(ms(c2 - c1));
        }
        let tags = tagger
            .tag_file_blocking(path, kind, None)
            .expect("tagging")
            .iter()
            .map(|t| format!("{}:{:.2}", t.name, t.confidence))
            .collect::<Vec<_>>()
            .join(",");
        let rss = if n == 0 { rss_kb() } else { 0 };
        println!(
            "image={} preprocess_ms={:.2} inference_ms={:.2} inference_cpu_ms={:.2} total_ms={:.2} tags={tags}{}",
            path.file_name().unwrap().to_string_lossy(),
            median(&mut pre),
            median(&mut inf),
            median(&mut cpu),
            median(&mut total),
            if rss > 0 {
                format!(" rss_after_first_kb={rss}")
            } else {
                String::new()
            }
        );
    }
    let (rss_loaded, anon_loaded) = (rss_kb(), anon_kb());
    drop(model);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(tagger.unload_if_idle(), None);
    assert!(!tagger.is_loaded());
    let (rss_unloaded, anon_unloaded) = (rss_kb(), anon_kb());
    println!(
        "rss_before_kb={rss_before} rss_loaded_kb={rss_loaded} rss_unloaded_kb={rss_unloaded} \
         anon_before_kb={anon_before} anon_loaded_kb={anon_loaded} anon_unloaded_kb={anon_unloaded} \
         load_ms={load_ms:.1}"
    );
}

fn kind_of(path: &Path) -> photox::media::sniff::ImageKind {
    let bytes = std::fs::read(path).expect("read IMAGE");
    sniff_image(&bytes[..bytes.len().min(16)]).expect("IMAGE is a supported image")
}

fn write_f32<'a>(path: &Path, values: impl Iterator<Item = &'a f32>) {
    let bytes: Vec<u8> = values.flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write dump");
}

/// CPU time of this thread: unlike wall time, not inflated by other processes on the core.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Resident set size of this process, from /proc/self/status.
fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

/// The anonymous part of the RSS (heap and stacks; not the binary's code and data pages).
fn anon_kb() -> u64 {
    status_kb("RssAnon:")
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
