//! Reading many files on all cores while delivering results in input order.
//!
//! Workers take the next file from a shared counter, read it with one open, one fstat, one read
//! into a buffer reused for every file, and one close, then process it. Results are handed to
//! the caller's sink strictly in input order. File data lives only in one buffer per worker;
//! what waits for its turn is each file's (small) result, never its bytes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::inputs::Input;
use crate::read::Source;

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
        let from = if input.from_directory { Source::Walked } else { Source::Named };
        let data = crate::read::dtb_into(&input.path, from, input.regular, buf).map(|n| &buf[..n]);
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
