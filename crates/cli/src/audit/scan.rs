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

/// Reads the whole file into `buf` (cleared first).
pub fn read_file(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    // A DTB's totalsize is a u32: a larger file cannot be one, and must not be read into memory.
    let len = usize::try_from(len).ok().filter(|&l| l <= u32::MAX as usize).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{len} bytes is too large for a DTB"))
    })?;
    buf.clear();
    buf.reserve(len);
    // `take` stops at the size fstat gave: no extra read to find EOF, and the spare capacity
    // is read into without being zeroed first.
    file.take(len as u64).read_to_end(buf)?;
    Ok(())
}

/// Runs `work` on every input (in parallel, with per-thread state `S`) and feeds the results to
/// `sink` in input order. The calling thread is one of the workers: it also delivers results,
/// between files and at the end, so no thread sits waiting on a channel while cores are busy.
pub fn scan<S, T, W, K>(inputs: &[Input], work: W, mut sink: K)
where
    S: Default,
    T: Send,
    W: Fn(&mut S, &Input, std::io::Result<&[u8]>) -> T + Sync,
    K: FnMut(T),
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, inputs.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    let process = |state: &mut S, buf: &mut Vec<u8>| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let input = inputs.get(i)?;
        let data = read_file(&input.path, buf).map(|()| buf.as_slice());
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
