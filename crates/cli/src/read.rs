//! Reading the files a user names: never blocking, never more than the format allows.
//!
//! A DTB comes from a regular file, or — named explicitly, as `/dev/stdin` or `<(…)` — from a
//! pipe, read only as far as its header's `totalsize`. Anything else is refused before a byte
//! is read: a device (`/dev/zero` behind a link would be read without end), a socket, and a FIFO
//! met in a directory walk (a `*.dtb` FIFO with no writer would wait forever). Other inputs (an
//! allowlist) come only from regular files, up to a cap.
//!
//! Owns: opening without blocking, the kind checks, the bounds. Must not: parse what it reads.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::OFlags;

use crate::error::CliError;

/// The most a DTB can be: its header's `totalsize` is a u32.
pub const DTB_MAX: usize = u32::MAX as usize;

/// Where a DTB may come from besides a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Found in a directory walk: a regular file only.
    Walked,
    /// Named by the user: a regular file, or a pipe (read up to its header's `totalsize`).
    Named,
}

/// Opens `path` for reading without blocking (`O_NONBLOCK`: opening a FIFO does not wait for a
/// writer) and checks what it is on the open file, so nothing can be swapped in between. A pipe
/// is accepted only when `pipes`, and is then switched back to blocking reads: a writer that is
/// there is waited for, a FIFO without one reads as empty.
fn open(path: &Path, pipes: bool) -> std::io::Result<(File, Metadata)> {
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(OFlags::NONBLOCK.bits() as i32).open(path)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok((file, meta));
    }
    if pipes && kind.is_fifo() {
        rustix::fs::fcntl_setfl(&file, OFlags::empty())?;
        return Ok((file, meta));
    }
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    };
    Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a regular file ({what})")))
}

/// Reads a regular file the user named, at most `cap` bytes.
pub fn regular(path: &Path, cap: usize) -> Result<Vec<u8>, CliError> {
    let input = |source| CliError::Input { path: path.to_path_buf(), source };
    let (file, meta) = open(path, false).map_err(input)?;
    let size = meta.len();
    let too_large =
        || input(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {cap} bytes")));
    if size > cap as u64 {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(cap as u64 + 1).read_to_end(&mut bytes).map_err(input)?;
    if bytes.len() > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a DTB the user named (a regular file or a pipe).
pub fn dtb(path: &Path) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    let n = dtb_into(path, Source::Named, false, &mut buf)
        .map_err(|source| CliError::Input { path: path.to_path_buf(), source })?;
    buf.truncate(n);
    Ok(buf)
}

/// Reads a DTB into the front of `buf` and returns how many bytes it holds.
///
/// `buf` only ever grows: the bytes past the file are stale, never zeroed again, and never
/// returned. When `short_read_is_end` (a file on disk, known regular), a short read is its end
/// and the file is read with one open, one fstat, one read and one close; otherwise (sysfs, whose
/// reads come a page at a time, and pipes) it is read until read(2) returns 0. A pipe is read no
/// further than its header's `totalsize` (or its first 8 bytes, if they are not a DTB header).
pub fn dtb_into(
    path: &Path,
    from: Source,
    short_read_is_end: bool,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let (mut file, meta) = open(path, from == Source::Named)?;
    let stream = !meta.is_file();
    if meta.len() > DTB_MAX as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes, larger than a DTB can be (4 GiB)", meta.len()),
        ));
    }
    let short_read_is_end = short_read_is_end && !stream;
    // Most DTBs are under 256 KiB; a larger one grows the buffer (once per thread).
    if buf.len() < 256 << 10 {
        buf.resize(256 << 10, 0);
    }
    let mut limit = DTB_MAX;
    let mut filled = 0;
    loop {
        if stream && limit == DTB_MAX && filled >= 8 {
            limit = match buf[..8] {
                [0xd0, 0x0d, 0xfe, 0xed, a, b, c, d] => u32::from_be_bytes([a, b, c, d]) as usize,
                _ => 8,
            }
            .max(8);
        }
        if filled >= limit {
            return Ok(limit);
        }
        if filled == buf.len() {
            if buf.len() > DTB_MAX {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "larger than 4 GiB, too large for a DTB",
                ));
            }
            let grown = buf.len().saturating_mul(2).min(DTB_MAX + 1);
            buf.resize(grown, 0);
        }
        let want = buf.len().min(limit);
        match file.read(&mut buf[filled..want]) {
            Ok(0) => return Ok(filled),
            Ok(n) => {
                filled += n;
                if short_read_is_end && filled < buf.len() {
                    return Ok(filled);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("platreset-read-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_fifo_or_an_oversized_file_is_refused_without_blocking() {
        let dir = dir("regular");
        let fifo = dir.join("fifo.dtb");
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(regular(&fifo, 10).unwrap_err().to_string().contains("not a regular file (a FIFO)"));
        let mut buf = Vec::new();
        let walked = dtb_into(&fifo, Source::Walked, true, &mut buf).unwrap_err();
        assert!(walked.to_string().contains("not a regular file (a FIFO)"), "{walked}");
        // Named, a FIFO without a writer reads as empty at once.
        assert_eq!(dtb_into(&fifo, Source::Named, false, &mut buf).unwrap(), 0);
        assert!(dtb(Path::new("/dev/zero")).unwrap_err().to_string().contains("(a character device)"));
        std::fs::write(dir.join("big"), [0u8; 11]).unwrap();
        assert!(regular(&dir.join("big"), 10).unwrap_err().to_string().contains("larger than 10 bytes"));
        assert_eq!(regular(&dir.join("big"), 11).unwrap().len(), 11);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A pipe fed by `sh -c <feed>`, read as a named DTB.
    fn through_pipe(feed: &str) -> std::io::Result<usize> {
        let mut child = Command::new("sh").arg("-c").arg(feed).stdout(Stdio::piped()).spawn().unwrap();
        let pipe = child.stdout.take().unwrap();
        let path = PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&pipe)));
        let mut buf = Vec::new();
        let n = dtb_into(&path, Source::Named, false, &mut buf);
        drop(pipe);
        let _ = child.kill();
        let _ = child.wait();
        n
    }

    #[test]
    fn a_pipe_is_read_only_as_far_as_its_header_says() {
        // An endless stream of zeros is not a DTB: 8 bytes are read, then the parser says why.
        assert_eq!(through_pipe("exec cat /dev/zero").unwrap(), 8);
        // A header of totalsize 64 followed by endless bytes: 64 are read.
        let feed = r"printf '\320\015\376\355\000\000\000\100'; exec cat /dev/zero";
        assert_eq!(through_pipe(feed).unwrap(), 64);
        // A whole DTB through a pipe: all of it.
        let demo = platreset_testkit::repo_root().join("data/demo-soc.dtb");
        let size = std::fs::metadata(&demo).unwrap().len() as usize;
        assert_eq!(through_pipe(&format!("exec cat {}", demo.display())).unwrap(), size);
    }
}
