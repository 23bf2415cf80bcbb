//! Appending one request's body to an upload's file, in bounded memory: frames are received on
//! the async side while one blocking thread writes them and another hashes them (the upload's
//! running SHA-256, which becomes the photo's checksum, and the chunk's `Upload-Checksum`
//! digest), as `ingest::receive` does for a plain upload.
//!
//! Durability: what a request wrote is flushed (`fdatasync`) before its end offset is handed
//! back, and so before anyone records or reports it. During a long request the writer also
//! flushes and records a checkpoint at most once a second, so a crash loses at most the last
//! second of it. A chunk with a checksum is never checkpointed: its bytes count only once they
//! are verified.

use std::fs::File;
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::checksum::ChunkHasher;
use crate::crash_points;
use crate::error::AppError;
use crate::storage::files;

/// Frames are handed to the writing and hashing threads in batches of at least this many
/// bytes, or this many frames.
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_FRAMES: usize = 64;
/// Batches queued ahead of each thread: a few MiB per request at most.
const IN_FLIGHT_BATCHES: usize = 8;
/// A batch is handed on when the body pauses this long, however small it is.
const IDLE_HAND_ON: Duration = Duration::from_millis(200);
/// Every this many written bytes are handed to the disk at once, so flushes have little left.
const WRITEBACK_STEP: u64 = 4 * 1024 * 1024;
/// The longest a request writes without recording a checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// What a request that is taken over still takes from what already arrived: more than the
/// buffers of a loopback or LAN connection hold, so a vanished client loses nothing it sent.
const DRAIN_AT_MOST: usize = 32 * 1024 * 1024;

/// Records that the file holds this many bytes on disk (called on the writing thread).
pub type Checkpoint = Box<dyn FnMut(u64) -> Result<(), AppError> + Send>;

/// One request's bytes, to go to `path` from `start` on.
pub struct Append<'a> {
    pub body: BoxStream<'a, io::Result<Bytes>>,
    pub start: u64,
    /// The most bytes the file may hold: the upload's length, or the size limit.
    pub end: u64,
    /// Cancelled when another request asks for the upload.
    pub stop: CancellationToken,
    /// The running SHA-256 of the file's first `start` bytes, to go on with.
    pub sha256: Option<Sha256>,
    /// The digest the chunk must match (`Upload-Checksum`).
    pub chunk: Option<ChunkHasher>,
    /// Where durable offsets are recorded while the body arrives (none for a checksummed chunk).
    pub checkpoint: Option<Checkpoint>,
}

/// Why the body ended.
#[derive(Debug)]
pub enum Ended {
    /// It arrived whole.
    Complete,
    /// It broke off or stalled: the client's doing.
    Broken(io::Error),
    /// Another request asked for the upload.
    Stopped,
    /// It had more bytes than the upload may hold (nothing was written past `end`).
    TooLong,
    /// The disk refused a write (full, failing).
    WriteFailed(io::Error),
}

/// What an append did.
pub struct Appended {
    /// Where the file ends now; every byte before it is flushed to disk.
    pub offset: u64,
    pub ended: Ended,
    /// The SHA-256 of the file's first `offset` bytes, where it could be kept.
    pub sha256: Option<Sha256>,
    /// The chunk's digest, when a checksum was asked for and the body arrived whole.
    pub chunk: Option<Vec<u8>>,
}

/// Appends `append.body` to the file at `path`, which must be `append.start` bytes long.
pub async fn append(path: &Path, append: Append<'_>) -> Result<Appended, AppError> {
    let Append {
        mut body,
        start,
        end,
        stop,
        sha256,
        chunk,
        checkpoint,
    } = append;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let (write_tx, write_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
    let writer =
        tokio::task::spawn_blocking(move || write_batches(file, start, end, write_rx, checkpoint));
    let hashing = sha256.is_some() || chunk.is_some();
    let (hash_tx, hash_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
    let hasher = tokio::task::spawn_blocking(move || hash_batches(hash_rx, sha256, chunk));
    let hand_on = |batch: Vec<Bytes>| {
        let (hash_tx, write_tx) = (&hash_tx, &write_tx);
        async move {
            (!hashing || hash_tx.send(batch.clone()).await.is_ok())
                && write_tx.send(batch).await.is_ok()
        }
    };
    let room = end.saturating_sub(start);
    let mut received: u64 = 0;
    let read = async {
        let (mut batch, mut batched) = (Vec::new(), 0);
        let mut draining = 0usize;
        let ended = loop {
            let frame = tokio::select! {
                biased;
                // Taken over: the bytes that already arrived (in the socket's buffer: all of
                // them when the client is gone) are kept, up to a bound, then the request stops.
                _ = stop.cancelled() => match body.next().now_or_never() {
                    Some(frame) if draining < DRAIN_AT_MOST => {
                        draining += frame.as_ref().and_then(|f| f.as_ref().ok()).map_or(0, Bytes::len);
                        frame
                    }
                    _ => break Ended::Stopped,
                },
                frame = body.next() => frame,
                // A slow body's bytes are not held back waiting for a full batch.
                _ = tokio::time::sleep(IDLE_HAND_ON), if !batch.is_empty() => {
                    batched = 0;
                    if !hand_on(std::mem::take(&mut batch)).await {
                        return Ended::Complete;
                    }
                    continue;
                }
            };
            let frame = match frame {
                None => break Ended::Complete,
                Some(Err(e)) => break Ended::Broken(e),
                Some(Ok(frame)) => frame,
            };
            received += frame.len() as u64;
            if received > room {
                break Ended::TooLong;
            }
            batched += frame.len();
            batch.push(frame);
            if batched >= BATCH_BYTES || batch.len() >= BATCH_FRAMES {
                batched = 0;
                if !hand_on(std::mem::take(&mut batch)).await {
                    // The writer stopped: its error is reported below.
                    return Ended::Complete;
                }
            }
        };
        if !matches!(ended, Ended::TooLong) && !batch.is_empty() {
            hand_on(batch).await;
        }
        ended
    };
    let mut ended = read.await;
    drop((hash_tx, write_tx));
    let failed =
        |e: tokio::task::JoinError| AppError::Internal(format!("upload thread failed: {e}"));
    let written = writer.await.map_err(failed)?;
    let (sha256, chunk, hashed) = hasher.await.map_err(failed)?;
    if let Some(e) = written.error {
        ended = Ended::WriteFailed(e);
    }
    let complete = matches!(ended, Ended::Complete);
    let offset = start + written.bytes;
    Ok(Appended {
        offset,
        // Only when it saw exactly the bytes the file holds.
        sha256: sha256.filter(|_| hashed == written.bytes && written.flushed),
        chunk: chunk.filter(|_| complete),
        ended,
    })
}

struct Written {
    /// Bytes written by this request.
    bytes: u64,
    /// Whether they are all flushed to disk.
    flushed: bool,
    error: Option<io::Error>,
}

/// The writing thread: appends each batch, starts the disk's writeback as it goes, records a
/// checkpoint now and then, and flushes at the end.
fn write_batches(
    mut file: File,
    start: u64,
    end: u64,
    mut rx: mpsc::Receiver<Vec<Bytes>>,
    mut checkpoint: Option<Checkpoint>,
) -> Written {
    let (mut written, mut handed_to_disk) = (0u64, 0u64);
    let mut last_checkpoint = Instant::now();
    let mut error = None;
    while let Some(batch) = rx.blocking_recv() {
        if let Err(e) = write_all_vectored(&mut file, &batch, &mut written) {
            error = Some(e);
            break;
        }
        if written - handed_to_disk >= WRITEBACK_STEP {
            files::start_writeback(&file, start + handed_to_disk, written - handed_to_disk);
            handed_to_disk = written;
        }
        let due = last_checkpoint.elapsed() >= CHECKPOINT_EVERY && start + written < end;
        if let (true, Some(record)) = (due, checkpoint.as_mut()) {
            last_checkpoint = Instant::now();
            let recorded = file
                .sync_data()
                .map_err(AppError::from)
                .and_then(|()| record(start + written));
            match recorded {
                Ok(()) => crash_points::reached("uploads.checkpointed"),
                Err(e) => {
                    log::warn!("an upload's checkpoint could not be recorded: {e}");
                    checkpoint = None;
                }
            }
        }
    }
    drop(rx);
    let flushed = match file.sync_data() {
        Ok(()) => true,
        Err(e) => {
            error.get_or_insert(e);
            false
        }
    };
    Written {
        bytes: written,
        flushed,
        error,
    }
}

/// The hashing thread: the running SHA-256 and the chunk's digest over all batches, and how
/// many bytes they saw.
fn hash_batches(
    mut rx: mpsc::Receiver<Vec<Bytes>>,
    mut sha256: Option<Sha256>,
    mut chunk: Option<ChunkHasher>,
) -> (Option<Sha256>, Option<Vec<u8>>, u64) {
    let mut hashed = 0u64;
    while let Some(batch) = rx.blocking_recv() {
        for frame in &batch {
            if let Some(h) = sha256.as_mut() {
                h.update(frame);
            }
            if let Some(h) = chunk.as_mut() {
                h.update(frame);
            }
            hashed += frame.len() as u64;
        }
    }
    (sha256, chunk.map(ChunkHasher::finalize), hashed)
}

/// Writes all `frames`, counting what reached the file in `written` even when a write fails.
fn write_all_vectored(file: &mut File, frames: &[Bytes], written: &mut u64) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *written += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The SHA-256 of the first `len` bytes of the file at `path` (to go on hashing an upload after
/// a restart).
pub fn sha256_prefix(path: &Path, len: u64) -> io::Result<Sha256> {
    use std::io::Read;
    let mut file = File::open(path)?.take(len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut seen = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        seen += n as u64;
    }
    if seen != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "an upload's file is shorter than its offset",
        ));
    }
    Ok(hasher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn body(frames: Vec<io::Result<Bytes>>) -> BoxStream<'static, io::Result<Bytes>> {
        Box::pin(futures_util::stream::iter(frames))
    }

    fn append_of(
        body: BoxStream<'static, io::Result<Bytes>>,
        start: u64,
        end: u64,
    ) -> Append<'static> {
        Append {
            body,
            start,
            end,
            stop: CancellationToken::new(),
            sha256: Some(Sha256::new()),
            chunk: None,
            checkpoint: None,
        }
    }

    #[tokio::test]
    async fn chunks_append_and_the_hash_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u");
        std::fs::write(&path, b"").unwrap();
        let first = append(
            &path,
            append_of(body(vec![Ok(Bytes::from_static(b"hello "))]), 0, 11),
        )
        .await
        .unwrap();
        assert!(matches!(first.ended, Ended::Complete));
        assert_eq!(first.offset, 6);
        let mut second = append_of(body(vec![Ok(Bytes::from_static(b"world"))]), 6, 11);
        second.sha256 = first.sha256;
        let second = append(&path, second).await.unwrap();
        assert_eq!(second.offset, 11);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        let expected = Sha256::digest(b"hello world");
        assert_eq!(second.sha256.unwrap().finalize(), expected);
        assert_eq!(sha256_prefix(&path, 11).unwrap().finalize(), expected);
        assert!(sha256_prefix(&path, 12).is_err());
    }

    #[tokio::test]
    async fn a_broken_body_keeps_what_arrived_and_a_long_one_writes_nothing_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u");
        std::fs::write(&path, b"").unwrap();
        let broken = body(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::other("connection reset")),
        ]);
        let done = append(&path, append_of(broken, 0, 100)).await.unwrap();
        assert!(matches!(done.ended, Ended::Broken(_)));
        assert_eq!(done.offset, 3);
        let long = body(vec![
            Ok(Bytes::from_static(b"defg")),
            Ok(Bytes::from_static(b"hij")),
        ]);
        let done = append(&path, append_of(long, 3, 9)).await.unwrap();
        assert!(matches!(done.ended, Ended::TooLong));
        assert!(std::fs::metadata(&path).unwrap().len() <= 9);
    }

    #[tokio::test]
    async fn a_chunk_digest_is_computed_and_slow_bodies_are_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u");
        std::fs::write(&path, b"").unwrap();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let slow =
            futures_util::stream::iter([b"ab".as_slice(), b"cd", b"ef"]).then(|part| async move {
                tokio::time::sleep(Duration::from_millis(700)).await;
                Ok(Bytes::from_static(part))
            });
        let mut request = append_of(Box::pin(slow), 0, 100);
        request.chunk = Some(
            super::super::checksum::ChunkChecksum {
                algorithm: super::super::checksum::Algorithm::Sha256,
                expected: Vec::new(),
            }
            .hasher(),
        );
        let seen = recorded.clone();
        request.checkpoint = Some(Box::new(move |offset| {
            seen.lock().unwrap().push(offset);
            Ok(())
        }));
        let done = append(&path, request).await.unwrap();
        assert_eq!(done.chunk.unwrap(), Sha256::digest(b"abcdef").to_vec());
        let recorded = recorded.lock().unwrap().clone();
        assert!(
            !recorded.is_empty(),
            "a body arriving over two seconds is checkpointed"
        );
        assert!(recorded.iter().all(|o| *o < 6 && *o > 0), "{recorded:?}");
    }
}
