//! Reading many files on all cores while delivering results in input order.
//!
//! Workers take the next file from a shared counter, read it with one open, one fstat, one read
//! into a buffer reused for every file, and one close, then process it. Results are handed to
//! the caller's sink strictly in input order. File data lives only in one buffer per worker;
//! what waits for its turn is each file's (small) result, never its bytes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::inputs::Input;

/// Reads the whole file into the front of `buf` and returns how many bytes it holds.
///
/// `buf` only ever grows: the bytes past the file are stale, never zeroed again, and never
/// returned. A file known to be regular is read with one open, one read and one close: a short
/// read of a regular file is its end, so its size need not be asked first. Anything else (a
/// pipe, a pseudo-file) is read until read(2) returns 0.
pub fn read_file(path: &Path, regular: bool, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    // A DTB's totalsize is a u32: a larger file cannot be one, and must not be read into memory.
    const LIMIT: usize = u32::MAX as usize;
    let mut file = File::open(path)?;
    // Most DTBs are under 256 KiB; a larger one grows the buffer (once per thread).
    if buf.len() < 256 << 10 {
        buf.resize(256 << 10, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if buf.len() >= LIMIT {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "larger than 4 GiB, too large for a DTB",
                ));
            }
            let grown = buf.len().saturating_mul(2).min(LIMIT + 1);
            buf.resize(grown, 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(n) => {
                filled += n;
                if regular && filled < buf.len() {
                    return Ok(filled);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Runs `work` on every input (in parallel, with per-thread state `S`) and feeds the results to
/// `sink` in input order. The calling thread is one of the workers: it also delivers results,
/// between files and at the end, so no thread sits waiting on a channel while cores are busy.
/// `jobs` threads in all (0: one per core).
pub fn scan<S, T, W, K>(inputs: &[Input], jobs: usize, work: W, mut sink: K)
where
    S: Default,
    T: Send,
    W: Fn(&mut S, &Input, std::io::Result<&[u8]>) -> T + Sync,
    K: FnMut(T),
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if jobs == 0 { cores } else { jobs }.clamp(1, inputs.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    let process = |state: &mut S, buf: &mut Vec<u8>| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let input = inputs.get(i)?;
        let data = read_file(&input.path, input.regular, buf).map(|n| &buf[..n]);
        Some((i, work(state, input, data)))
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let tx = tx.clone();
            let process = &process;
            scope.spawn(move || {
                let (mut state, mut buf) = (S::default(), Vec::new());
                while let Some(result) = process(&mut state, &mut buf) {
                    if tx.send(result).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut due = 0;
        let mut deliver = |waiting: &mut BTreeMap<usize, T>| {
            while let Some(out) = waiting.remove(&due) {
                sink(out);
                due += 1;
            }
        };
        let (mut state, mut buf) = (S::default(), Vec::new());
        while let Some((i, out)) = process(&mut state, &mut buf) {
            waiting.insert(i, out);
            waiting.extend(rx.try_iter());
            deliver(&mut waiting);
        }
        for (i, out) in rx {
            waiting.insert(i, out);
            deliver(&mut waiting);
        }
    });
}
