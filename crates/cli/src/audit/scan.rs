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
/// One open, one fstat, one read (for a file that does not change under us), one close. `buf`
/// only ever grows: the bytes past the file are stale, never zeroed again, and never returned.
pub fn read_file(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    // A DTB's totalsize is a u32: a larger file cannot be one, and must not be read into memory.
    let len = usize::try_from(len).ok().filter(|&l| l <= u32::MAX as usize).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{len} bytes is too large for a DTB"))
    })?;
    if len == 0 {
        // Pseudo-files (procfs, some sysfs attributes) report size 0 but have content.
        let mut whole = Vec::new();
        file.read_to_end(&mut whole)?;
        if buf.len() < whole.len() {
            buf.resize(whole.len(), 0);
        }
        buf[..whole.len()].copy_from_slice(&whole);
        return Ok(whole.len());
    }
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let mut filled = 0;
    while filled < len {
        match file.read(&mut buf[filled..len]) {
            Ok(0) => break, // the file shrank since fstat: parse what is there
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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
        let data = read_file(&input.path, buf).map(|n| &buf[..n]);
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
