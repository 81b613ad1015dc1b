//! Files beneath a root directory handle, never outside it.
//!
//! Owns: the root's directory handle (`O_PATH`, opened once per [`RootDir`]), and every way a
//! path below it is opened — by `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` where
//! the kernel has it (Linux 5.6 and later), else by [`Walk`], which opens one component at a time
//! with `O_NOFOLLOW`, follows relative symlinks itself against a stack of directory handles and
//! refuses one that is absolute or climbs above the root. On top of that: the bounded read of a
//! regular file, the single write to one, directory listings, resolving a link to its canonical
//! path below the root, and replacing a file atomically. It counts the work it does, so tests
//! can bound the cost of an operation without timing it.
//!
//! Threat model: everything below the root may have been planted — a symlink in place of a
//! directory or an attribute, a FIFO, a device node, a file of gigabytes. Nothing here follows
//! a link out of the root, opens the last component through a link, blocks on a FIFO, or reads
//! more than its caller's cap; every refusal names the path it was asked for.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read as _, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::HostError;

/// How many symlinks one resolution may follow (the kernel's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// How often an `openat2` that raced a rename or mount (EAGAIN) is retried before the walk
/// takes over.
const OPENAT2_RETRIES: usize = 4;

/// Set once `openat2` has answered ENOSYS (a kernel before 5.6, or a seccomp filter that does
/// not know it): every later open goes straight to the walk.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// How a path below the root is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolver {
    /// `openat2` with `RESOLVE_BENEATH`, falling back to [`Resolver::Walk`] on ENOSYS.
    Openat2,
    /// The component-wise walk only (what kernels before 5.6 get).
    Walk,
}

/// The file-system work done through one root, for tests that bound it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Files and directories opened (each `openat`/`openat2`, walk steps included).
    pub opens: u64,
    /// Directories listed.
    pub dirs_listed: u64,
    /// Directory entries read while listing.
    pub entries_read: u64,
}

#[derive(Debug, Default)]
struct Counters {
    opens: AtomicU64,
    dirs_listed: AtomicU64,
    entries_read: AtomicU64,
}

/// An open root directory and the path it was opened as (for messages).
#[derive(Debug)]
pub(crate) struct RootDir {
    fd: OwnedFd,
    path: PathBuf,
    resolver: Resolver,
    counters: Counters,
}

/// One step of a walk still to take.
#[derive(Debug)]
enum Item {
    /// `..`.
    Up,
    /// A name; `true` when it is the caller's own last component rather than one read from a
    /// link on the way.
    Name(OsString, bool),
}

/// Where a walk ended.
#[derive(Debug)]
enum Last {
    /// The path is a directory: the top of the stack.
    Dir,
    /// The last component, not looked at (the caller opens it relative to the top of the stack
    /// with `O_NOFOLLOW`).
    Name(OsString),
    /// The last component is a file that is neither a directory nor a symlink.
    File(OsString),
    /// The caller's last component does not exist.
    Missing,
}

/// A finished walk: the canonical directories from the root down, and the last component.
#[derive(Debug)]
struct Walked {
    stack: Vec<(OsString, OwnedFd)>,
    last: Last,
}

impl Walked {
    /// The canonical path of the directory at the top of the stack, relative to the root.
    fn dir(&self) -> PathBuf {
        names(&self.stack)
    }
}

/// The canonical path of the directory at the top of `stack`, relative to the root.
fn names(stack: &[(OsString, OwnedFd)]) -> PathBuf {
    stack.iter().map(|(name, _)| name.as_os_str()).collect()
}

/// The kind of a file, in words, for refusals.
fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// `path` with `.` and `..` applied lexically, for messages about where a link points.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl RootDir {
    /// Opens `path` (trusted: it is the root the caller chose, so links in it are followed) as
    /// an `O_PATH` directory handle.
    pub(crate) fn open(path: &Path, resolver: Resolver) -> Result<RootDir, HostError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd =
            rfs::openat(rfs::CWD, path, flags, Mode::empty()).map_err(|e| HostError::io(path, e.into()))?;
        let counters = Counters::default();
        counters.opens.fetch_add(1, Ordering::Relaxed);
        Ok(RootDir { fd, path: path.to_path_buf(), resolver, counters })
    }

    /// The work done so far.
    pub(crate) fn work(&self) -> Work {
        Work {
            opens: self.counters.opens.load(Ordering::Relaxed),
            dirs_listed: self.counters.dirs_listed.load(Ordering::Relaxed),
            entries_read: self.counters.entries_read.load(Ordering::Relaxed),
        }
    }

    /// `rel` as the caller sees it: the root as given, joined with `rel`.
    fn full(&self, rel: &Path) -> PathBuf {
        self.path.join(rel)
    }

    fn counted<T>(&self, result: rustix::io::Result<T>) -> rustix::io::Result<T> {
        self.counters.opens.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// The refusal when `openat2` says EXDEV or ELOOP and the walk, asked why, finds nothing
    /// (the tree changed in between).
    fn not_beneath(&self, rel: &Path) -> HostError {
        HostError::NotBeneath { path: self.full(rel), root: self.path.clone() }
    }

    /// Opens `rel` with `flags`, never following a symlink at the last component. `wrap` turns
    /// an error of the open itself into a [`HostError`] (reads and writes word them differently).
    fn open_file(
        &self,
        rel: &Path,
        flags: OFlags,
        wrap: fn(&Path, io::Error) -> HostError,
    ) -> Result<OwnedFd, HostError> {
        self.open_with(rel, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, false, wrap)
    }

    /// Opens the directory `rel` for listing (following a link at the last component, beneath
    /// the root like every other).
    fn open_dir(&self, rel: &Path) -> Result<OwnedFd, HostError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        self.open_with(rel, flags, true, HostError::io)
    }

    fn open_with(
        &self,
        rel: &Path,
        flags: OFlags,
        follow_last: bool,
        wrap: fn(&Path, io::Error) -> HostError,
    ) -> Result<OwnedFd, HostError> {
        if self.resolver == Resolver::Openat2 && !OPENAT2_MISSING.load(Ordering::Relaxed) {
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            for _ in 0..OPENAT2_RETRIES {
                match self.counted(rfs::openat2(&self.fd, rel, flags, Mode::empty(), resolve)) {
                    Ok(fd) => return Ok(fd),
                    // A rename or mount raced the lookup; the kernel asks us to try again.
                    Err(Errno::AGAIN) => continue,
                    Err(Errno::NOSYS) => {
                        OPENAT2_MISSING.store(true, Ordering::Relaxed);
                        break;
                    }
                    // Refused: a link out of the root, or a link at the last component. The
                    // walk finds which link and where it points, for the message.
                    Err(Errno::XDEV | Errno::LOOP) => {
                        return Err(match self.walk_open(rel, flags, follow_last, wrap) {
                            Err(e) => e,
                            Ok(_) => self.not_beneath(rel),
                        });
                    }
                    Err(e) => return Err(wrap(&self.full(rel), e.into())),
                }
            }
        }
        self.walk_open(rel, flags, follow_last, wrap)
    }

    /// The open by walking, for kernels without `openat2` (and to explain its refusals).
    fn walk_open(
        &self,
        rel: &Path,
        flags: OFlags,
        follow_last: bool,
        wrap: fn(&Path, io::Error) -> HostError,
    ) -> Result<OwnedFd, HostError> {
        let walked = self.walk(rel, follow_last, false)?;
        let (dir, name) = match &walked.last {
            Last::Name(name) | Last::File(name) => (top(&walked.stack, &self.fd), name.as_os_str()),
            Last::Dir => (top(&walked.stack, &self.fd), OsStr::new(".")),
            Last::Missing => return Err(wrap(&self.full(rel), Errno::NOENT.into())),
        };
        match self.counted(rfs::openat(dir, name, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()))
        {
            Ok(fd) => Ok(fd),
            // O_NOFOLLOW on one name: ELOOP says exactly that it is a symlink.
            Err(Errno::LOOP) => Err(HostError::NotRegular { path: self.full(rel), kind: "symbolic link" }),
            Err(e) => Err(wrap(&self.full(rel), e.into())),
        }
    }

    /// Resolves `rel` one component at a time below the root. Every component but the last is
    /// followed (only relative symlinks, never above the root); the last too when
    /// `follow_last`. With `create`, missing directories are made (mode 0755).
    fn walk(&self, rel: &Path, follow_last: bool, create: bool) -> Result<Walked, HostError> {
        let mut queue = VecDeque::new();
        for component in rel.components() {
            match component {
                Component::Normal(name) => queue.push_back(Item::Name(name.to_os_string(), true)),
                Component::ParentDir => queue.push_back(Item::Up),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Err(self.not_beneath(rel)),
            }
        }
        let mut stack: Vec<(OsString, OwnedFd)> = Vec::new();
        let mut links = 0;
        // The last link followed and where it pointed, for a refusal that climbs out.
        let mut via: Option<(PathBuf, PathBuf)> = None;
        while let Some(item) = queue.pop_front() {
            let last = queue.is_empty();
            let (name, own) = match item {
                Item::Up => {
                    if stack.pop().is_none() {
                        return Err(match via {
                            Some((link, target)) => {
                                let target = lexical(&link.parent().unwrap_or(&self.path).join(target));
                                HostError::Escape { link, target, root: self.path.clone() }
                            }
                            None => self.not_beneath(rel),
                        });
                    }
                    continue;
                }
                Item::Name(name, own) => (name, own),
            };
            if last && !follow_last {
                return Ok(Walked { stack, last: Last::Name(name) });
            }
            let dir = top(&stack, &self.fd);
            let opened = match self.open_entry(dir, &name) {
                Err(Errno::NOENT) if create => {
                    match rfs::mkdirat(dir, name.as_os_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(HostError::write(&self.full(rel), e.into())),
                    }
                    self.open_entry(dir, &name)
                }
                Err(Errno::NOENT) if last && own => return Ok(Walked { stack, last: Last::Missing }),
                other => other,
            };
            let fd = opened.map_err(|e| HostError::io(&self.full(rel), e.into()))?;
            let stat = rfs::fstat(&fd).map_err(|e| HostError::io(&self.full(rel), e.into()))?;
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => stack.push((name, fd)),
                FileType::Symlink => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(HostError::io(&self.full(rel), Errno::LOOP.into()));
                    }
                    let link = self.path.join(names(&stack)).join(&name);
                    let target =
                        rfs::readlinkat(&fd, "", Vec::new()).map_err(|e| HostError::io(&link, e.into()))?;
                    let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                    if target.has_root() {
                        return Err(HostError::Escape { link, target, root: self.path.clone() });
                    }
                    for component in target.components().rev() {
                        match component {
                            Component::Normal(part) => {
                                queue.push_front(Item::Name(part.to_os_string(), false))
                            }
                            Component::ParentDir => queue.push_front(Item::Up),
                            _ => {}
                        }
                    }
                    via = Some((link, target));
                }
                _ if last => return Ok(Walked { stack, last: Last::File(name) }),
                _ => return Err(HostError::io(&self.full(rel), Errno::NOTDIR.into())),
            }
        }
        Ok(Walked { stack, last: Last::Dir })
    }

    /// Refuses `fd` unless it is a regular file (what every sysfs attribute is).
    fn require_regular(&self, fd: &OwnedFd, rel: &Path) -> Result<(), HostError> {
        let stat = rfs::fstat(fd).map_err(|e| HostError::io(&self.full(rel), e.into()))?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Ok(()),
            kind => Err(HostError::NotRegular { path: self.full(rel), kind: kind_name(kind) }),
        }
    }

    /// Reads the regular file `rel` whole: opened without following a link at the last
    /// component and with `O_NONBLOCK` (so a FIFO cannot block the open), refused unless
    /// `fstat` says regular file, and refused when it holds more than `cap` bytes.
    pub(crate) fn read(&self, rel: &Path, cap: usize) -> Result<Vec<u8>, HostError> {
        let fd = self.open_file(rel, OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY, HostError::io)?;
        self.require_regular(&fd, rel)?;
        let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| HostError::io(&self.full(rel), e))?;
        if bytes.len() > cap {
            return Err(HostError::TooLarge { path: self.full(rel), cap });
        }
        Ok(bytes)
    }

    /// Opens the existing regular file `rel` for writing exactly as [`RootDir::write`] does
    /// (no `O_CREAT`, no link at the last component, `O_NONBLOCK`, regular files only),
    /// without writing.
    pub(crate) fn open_for_write(&self, rel: &Path) -> Result<OwnedFd, HostError> {
        let fd = self.open_file(rel, OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOCTTY, HostError::write)?;
        self.require_regular(&fd, rel)?;
        Ok(fd)
    }

    /// Writes `bytes` to the existing regular file `rel` in one `write(2)`, because a sysfs
    /// store sees each write separately.
    pub(crate) fn write(&self, rel: &Path, bytes: &[u8]) -> Result<(), HostError> {
        let fd = self.open_for_write(rel)?;
        let written =
            rustix::io::write(&fd, bytes).map_err(|e| HostError::write(&self.full(rel), e.into()))?;
        if written == bytes.len() {
            Ok(())
        } else {
            let short = format!("short write: {written} of {} bytes", bytes.len());
            Err(HostError::io(&self.full(rel), io::Error::new(io::ErrorKind::WriteZero, short)))
        }
    }

    /// The names in the directory `rel`, without `.` and `..`, in directory order.
    pub(crate) fn list(&self, rel: &Path) -> Result<Vec<OsString>, HostError> {
        let fd = self.open_dir(rel)?;
        self.counters.dirs_listed.fetch_add(1, Ordering::Relaxed);
        let mut dir = rfs::Dir::new(fd).map_err(|e| HostError::io(&self.full(rel), e.into()))?;
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| HostError::io(&self.full(rel), e.into()))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            self.counters.entries_read.fetch_add(1, Ordering::Relaxed);
            names.push(OsStr::from_bytes(name).to_os_string());
        }
        Ok(names)
    }

    /// The canonical path of `rel` relative to the root, every link on the way followed (only
    /// beneath the root); `None` when the last component of `rel` itself does not exist.
    pub(crate) fn resolve(&self, rel: &Path) -> Result<Option<PathBuf>, HostError> {
        let walked = self.walk(rel, true, false)?;
        Ok(match &walked.last {
            Last::Dir => Some(walked.dir()),
            Last::File(name) | Last::Name(name) => Some(walked.dir().join(name)),
            Last::Missing => None,
        })
    }

    /// Whether the last component of `rel` exists (a link there counts, unfollowed); `false`
    /// also when a directory on the way is missing.
    pub(crate) fn exists(&self, rel: &Path) -> Result<bool, HostError> {
        let walked = match self.walk(rel, false, false) {
            Ok(walked) => walked,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        match &walked.last {
            Last::Name(name) => {
                let dir = top(&walked.stack, &self.fd);
                match rfs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(_) => Ok(true),
                    Err(Errno::NOENT) => Ok(false),
                    Err(e) => Err(HostError::io(&self.full(rel), e.into())),
                }
            }
            Last::Missing => Ok(false),
            Last::Dir | Last::File(_) => Ok(true),
        }
    }

    /// Creates or replaces the regular file `rel` with `bytes`, atomically: the missing
    /// directories above it are made (beneath the root, refusing links out of it), the content
    /// goes to a new file with a random name created with `O_EXCL | O_NOFOLLOW` in the same
    /// directory, is synced, and is renamed over `rel` (a rename replaces a name, it never
    /// follows a link). An existing `rel` that is not a regular file — a symlink above all — is
    /// refused and left alone.
    pub(crate) fn replace(&self, rel: &Path, bytes: &[u8], mode: u32) -> Result<(), HostError> {
        let Some(name) = rel.file_name() else { return Err(self.not_beneath(rel)) };
        let parent = rel.parent().unwrap_or(Path::new(""));
        let walked = self.walk(parent, true, true)?;
        if !matches!(walked.last, Last::Dir) {
            return Err(HostError::io(&self.full(parent), Errno::NOTDIR.into()));
        }
        let dir = top(&walked.stack, &self.fd);
        match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => {}
                kind => return Err(HostError::NotRegular { path: self.full(rel), kind: kind_name(kind) }),
            },
            Err(Errno::NOENT) => {}
            Err(e) => return Err(HostError::io(&self.full(rel), e.into())),
        }
        let (temp, file) = self.create_temp(dir, rel, mode)?;
        let written = write_synced(file, bytes)
            .and_then(|()| rfs::renameat(dir, temp.as_os_str(), dir, name).map_err(io::Error::from));
        if let Err(e) = written {
            // Best effort: the temporary file is ours and useless now.
            let _ = rfs::unlinkat(dir, temp.as_os_str(), AtFlags::empty());
            return Err(HostError::write(&self.full(rel), e));
        }
        // The rename is durable only once the directory is synced.
        self.counted(rfs::openat(
            dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ))
        .and_then(rfs::fsync)
        .map_err(|e| HostError::write(&self.full(parent), e.into()))
    }

    /// A new file in `dir` with a random name, created exclusively (`O_EXCL`, never through a
    /// link); retried on the rare name collision.
    fn create_temp(
        &self,
        dir: BorrowedFd<'_>,
        rel: &Path,
        mode: u32,
    ) -> Result<(OsString, std::fs::File), HostError> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut last = Errno::EXIST;
        for _ in 0..16 {
            let mut random = [0u8; 8];
            rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::empty())
                .map_err(|e| HostError::io(&self.full(rel), e.into()))?;
            let name = OsString::from(format!(".platreset-{:016x}.tmp", u64::from_ne_bytes(random)));
            match self.counted(rfs::openat(dir, name.as_os_str(), flags, Mode::from_raw_mode(mode))) {
                Ok(fd) => return Ok((name, std::fs::File::from(fd))),
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(e) => {
                    last = e;
                    break;
                }
            }
        }
        Err(HostError::write(&self.full(rel), last.into()))
    }

    /// Opens one entry of `dir` as an `O_PATH` handle without following it.
    fn open_entry(&self, dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<OwnedFd> {
        self.counted(rfs::openat(dir, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()))
    }
}

/// Writes all of `bytes` to `file` and syncs it to disk.
fn write_synced(mut file: std::fs::File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// The directory at the top of `stack`, or the root when it is empty.
fn top<'a>(stack: &'a [(OsString, OwnedFd)], root: &'a OwnedFd) -> BorrowedFd<'a> {
    stack.last().map_or(root.as_fd(), |(_, fd)| fd.as_fd())
}
