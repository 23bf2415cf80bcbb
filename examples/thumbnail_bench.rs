//! Times `photox::media::thumbnail::render` (thumbnail + preview from one decode).
//!
//! Usage: thumbnail_bench INPUT OUT_DIR [RUNS] [ORIENTATION]
//!
//! Renders INPUT to OUT_DIR/thumbnail.jpg (320) and OUT_DIR/preview.jpg (1600) RUNS times
//! (default 9), turned upright by the EXIF ORIENTATION given (default none), and prints
//! `median_ms=... min_ms=... max_ms=...` on one line. With RUNS = 1 it is also the process
//! that `bench/thumbnails.sh` measures for peak RSS.

use std::path::PathBuf;
use std::time::Instant;

use photox::media::sniff::sniff_image;
use photox::media::thumbnail::{render, PREVIEW_SIDE, THUMBNAIL_SIDE};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(out_dir)) = (args.next(), args.next()) else {
        eprintln!("usage: thumbnail_bench INPUT OUT_DIR [RUNS] [ORIENTATION]");
        std::process::exit(2);
    };
    let runs: usize = args
        .next()
        .map_or(9, |r| r.parse().expect("RUNS is a number"));
    let orientation: Option<u16> = args
        .next()
        .map(|o| o.parse().expect("ORIENTATION is 1..=8"));
    let input = PathBuf::from(input);
    let out_dir = PathBuf::from(out_dir);
    std::fs::create_dir_all(&out_dir).expect("create OUT_DIR");

    let mut head = [0u8; 16];
    let n = std::io::Read::read(
        &mut std::fs::File::open(&input).expect("open INPUT"),
        &mut head,
    )
    .expect("read INPUT");
    let kind = sniff_image(&head[..n]).expect("INPUT is a supported image");
    let thumbnail = out_dir.join("thumbnail.jpg");
    let preview = out_dir.join("preview.jpg");

    let mut times = Vec::with_capacity(runs);
    let mut size = (0, 0);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        size = render(
            &input,
            kind,
            orientation,
            &[(THUMBNAIL_SIDE, &thumbnail), (PREVIEW_SIDE, &preview)],
        )
        .expect("render");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "input={}x{} runs={} median_ms={:.1} min_ms={:.1} max_ms={:.1}",
        size.0,
        size.1,
        times.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
