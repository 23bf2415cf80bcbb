//! Receiving bytes into `tmp/`: a stream (an HTTP body, or a file read in pieces) is written
//! while it is hashed, never held whole in memory. Frames are received on the async side while
//! one blocking thread hashes and another writes the previous ones; they are handed on as they
//! came, never copied.

use std::io::{self, IoSlice, Write};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::error::AppError;
use crate::media::MediaError;
use crate::storage::files;

/// Received frames are handed to the hashing and writing threads in batches of at least this
/// many bytes (the HTTP layer's frames are usually ~300-400 KiB, so mostly one frame each)...
const BATCH_BYTES: usize = 256 * 1024;
/// ...or this many frames.
const BATCH_FRAMES: usize = 64;
/// Batches queued ahead of each thread (both get the same frames). With the HTTP layer's
/// frames this bounds the memory one upload holds to a few MiB.
const IN_FLIGHT_BATCHES: usize = 8;
/// While an upload streams, every this many written bytes are handed to the disk, so the
/// fsync at the end has little left to wait for.
const WRITEBACK_STEP: u64 = 4 * 1024 * 1024;
/// Pieces a file on disk is read in.
const FILE_CHUNK: usize = 1024 * 1024;
/// Bytes kept from the start for sniffing the format.
pub const HEAD_BYTES: usize = 64;

/// What `receive` found.
pub struct Received {
    pub size: u64,
    pub frames: usize,
    pub checksum: String,
    /// The first `HEAD_BYTES` bytes.
    pub head: Vec<u8>,
}

/// A file read in pieces, as a stream of bytes.
pub fn file_stream(file: tokio::fs::File) -> impl Stream<Item = io::Result<Bytes>> + Send {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = BytesMut::zeroed(FILE_CHUNK);
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf.freeze()), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Streams `body` into `tmp`, hashing it; at most `limit` bytes (else `TooLarge`).
pub async fn receive<S: Stream<Item = io::Result<Bytes>> + Unpin>(
    mut body: S,
    tmp: &tempfile::NamedTempFile,
    limit: u64,
) -> Result<Received, AppError> {
    let file = tmp.as_file().try_clone()?;
    let (hash_tx, hash_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
    let (write_tx, write_rx) = mpsc::channel::<Vec<Bytes>>(IN_FLIGHT_BATCHES);
    let hasher = tokio::task::spawn_blocking(move || hash_batches(hash_rx));
    let writer = tokio::task::spawn_blocking(move || write_batches(file, write_rx));
    // Hands a batch to both threads; false if the writer stopped (its error is reported below).
    let hand_on = |batch: Vec<Bytes>| {
        let (hash_tx, write_tx) = (&hash_tx, &write_tx);
        async move { hash_tx.send(batch.clone()).await.is_ok() && write_tx.send(batch).await.is_ok() }
    };
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let mut size: u64 = 0;
    let mut frames = 0;
    let read = async {
        let (mut batch, mut batched) = (Vec::new(), 0);
        while let Some(frame) = body.next().await.transpose()? {
            size += frame.len() as u64;
            frames += 1;
            if size > limit {
                return Err(MediaError::TooLarge {
                    limit_mb: limit / (1024 * 1024),
                }
                .into());
            }
            if head.len() < HEAD_BYTES {
                head.extend_from_slice(&frame[..frame.len().min(HEAD_BYTES - head.len())]);
            }
            batched += frame.len();
            batch.push(frame);
            if batched >= BATCH_BYTES || batch.len() >= BATCH_FRAMES {
                batched = 0;
                if !hand_on(std::mem::take(&mut batch)).await {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            hand_on(batch).await;
        }
        Ok::<(), AppError>(())
    };
    let read_result = read.await;
    drop((hash_tx, write_tx));
    let failed =
        |e: tokio::task::JoinError| AppError::Internal(format!("ingest thread failed: {e}"));
    let written = writer.await.map_err(failed)?;
    let checksum = hasher.await.map_err(failed)?;
    read_result?;
    written?;
    Ok(Received {
        size,
        frames,
        checksum,
        head,
    })
}

/// The hashing thread of `receive`: the SHA-256 hex of all batches.
fn hash_batches(mut rx: mpsc::Receiver<Vec<Bytes>>) -> String {
    let mut hasher = Sha256::new();
    while let Some(batch) = rx.blocking_recv() {
        for frame in &batch {
            hasher.update(frame);
        }
    }
    files::hex(&hasher.finalize())
}

/// The writing thread of `receive`: appends each batch, starting the disk's writeback as it
/// goes.
fn write_batches(mut file: std::fs::File, mut rx: mpsc::Receiver<Vec<Bytes>>) -> io::Result<()> {
    let (mut written, mut handed_to_disk) = (0u64, 0u64);
    while let Some(batch) = rx.blocking_recv() {
        write_all_vectored(&mut file, &batch)?;
        written += batch.iter().map(|f| f.len() as u64).sum::<u64>();
        if written - handed_to_disk >= WRITEBACK_STEP {
            files::start_writeback(&file, handed_to_disk, written - handed_to_disk);
            handed_to_disk = written;
        }
    }
    Ok(())
}

fn write_all_vectored(file: &mut std::fs::File, frames: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Hashes a file where it is (an in-place import): size, SHA-256 hex and its first bytes.
pub fn hash_in_place(path: &std::path::Path, limit: u64) -> Result<Received, AppError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; FILE_CHUNK];
    let (mut size, mut frames, mut head) = (0u64, 0usize, Vec::with_capacity(HEAD_BYTES));
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        size += n as u64;
        frames += 1;
        if size > limit {
            return Err(MediaError::TooLarge {
                limit_mb: limit / (1024 * 1024),
            }
            .into());
        }
        if head.len() < HEAD_BYTES {
            head.extend_from_slice(&buf[..n.min(HEAD_BYTES - head.len())]);
        }
        hasher.update(&buf[..n]);
    }
    Ok(Received {
        size,
        frames,
        checksum: files::hex(&hasher.finalize()),
        head,
    })
}
