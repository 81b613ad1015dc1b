//! Simulated RAM: sparse pages, and a log of every write a bus master made, with its tick.

use std::collections::HashMap;

use platreset_fdt::NodeId;

use crate::time::Tick;

const PAGE: u64 = 4096;

/// One DMA write as the bus saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaWrite {
    /// The device that wrote.
    pub master: NodeId,
    /// First byte written.
    pub addr: u64,
    /// How many bytes.
    pub len: u64,
    /// When.
    pub tick: Tick,
}

/// RAM windows and the write log.
#[derive(Debug, Default)]
pub struct Ram {
    windows: Vec<(u64, u64)>,
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    log: Vec<DmaWrite>,
}

impl Ram {
    /// RAM over `windows` (base, size).
    pub fn new(windows: Vec<(u64, u64)>) -> Ram {
        Ram { windows, pages: HashMap::new(), log: Vec::new() }
    }

    /// The RAM windows.
    pub fn windows(&self) -> &[(u64, u64)] {
        &self.windows
    }

    /// Whether `[addr, addr + len)` lies in one RAM window.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        self.windows
            .iter()
            .any(|&(base, size)| addr >= base && addr - base <= size && size - (addr - base) >= len)
    }

    /// A bus master writes `len` bytes of `fill` at `addr`; returns false (and writes nothing)
    /// outside RAM.
    pub fn dma_write(&mut self, master: NodeId, addr: u64, len: u64, fill: u8, tick: Tick) -> bool {
        if !self.contains(addr, len) {
            return false;
        }
        let mut at = addr;
        while at < addr + len {
            let page = at / PAGE;
            let offset = (at % PAGE) as usize;
            let n = (PAGE - at % PAGE).min(addr + len - at);
            let bytes = self.pages.entry(page).or_insert_with(|| Box::new([0; PAGE as usize]));
            bytes[offset..offset + n as usize].fill(fill);
            at += n;
        }
        self.log.push(DmaWrite { master, addr, len, tick });
        true
    }

    /// One byte of RAM (0 where nothing was written).
    pub fn byte(&self, addr: u64) -> u8 {
        self.pages.get(&(addr / PAGE)).map_or(0, |p| p[(addr % PAGE) as usize])
    }

    /// Every DMA write, in order.
    pub fn log(&self) -> &[DmaWrite] {
        &self.log
    }
}
