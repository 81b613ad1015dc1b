//! The reset guard: watch a VMM process through a pidfd and, once it has exited — normally or by
//! SIGKILL — run the device-reset steps exactly once each, in order, logging every step with a
//! timestamp relative to the moment the exit was seen.
//!
//! Owns: the pidfd, the wait, and the order and once-only execution of the steps. Must not: know
//! what a step does (the caller builds "VFIO reset `DEV`", "restore host driver", …) or decide
//! whether a generic reset is allowed (the caller asks the user).
//!
//! Why a pidfd and not `waitpid`: the VMM is usually started by someone else (libvirt, a shell,
//! crosvm's own launcher), so the guard is not its parent and cannot wait for it. A pidfd is
//! readable once the process has exited whoever its parent is, and — unlike polling `/proc/PID` or
//! `kill(pid, 0)` — it refers to that one process, so a recycled PID cannot fool the wait.
//! The PID itself is only looked up once, at [`Guard::attach`]: if the VMM had already exited and
//! been reaped and its PID reused before that, the guard would watch the wrong process. Attach
//! while the VMM is known to be running (e.g. right after starting it).
//!
//! Signals: this module installs no signal handlers (the crate has no `unsafe`, and rustix exposes
//! no safe signal-handler or signalfd API). With the default dispositions, SIGINT or SIGTERM
//! delivered to the guard before the VMM exits terminates the guard during [`Guard::wait`], so it
//! stops **without resetting** — which is the intended behaviour (the user called the guard off).
//! A caller that wants a clean in-process stop instead passes a cancel file descriptor to
//! [`Guard::wait_cancellable`] / [`Guard::run_cancellable`] (e.g. an eventfd or the read end of a
//! self-pipe its own signal handler writes to): when that becomes readable first, the wait ends
//! with [`GuardError::Cancelled`] and no step runs. `EINTR` from a handled signal is retried.
//! Once the steps have started, a default-disposition SIGINT/SIGTERM would still kill the guard
//! part-way; a CLI that must finish the resets should ignore those signals from that point on.

use std::fmt;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::process::{pidfd_open, waitid, Pid, PidfdFlags, WaitId, WaitIdOptions};

/// One reset step: returns a short description of what it did, or of why it failed.
pub type Step = Box<dyn FnMut() -> Result<String, String>>;

/// Why the guard could not watch the process, or stopped watching it.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// PIDs are positive; 0 and negative numbers mean process groups to `kill(2)`, not a process.
    #[error("pid {pid} is not a process id (must be a positive number)")]
    InvalidPid {
        /// The rejected number.
        pid: i32,
    },
    /// `pidfd_open` said `ESRCH`.
    #[error("no process with pid {pid} (it has already exited, or never existed)")]
    NoSuchProcess {
        /// The PID asked for.
        pid: i32,
    },
    /// `pidfd_open` said `EPERM` (e.g. a seccomp policy or a PID namespace the guard cannot see into).
    #[error("not permitted to open a pidfd for pid {pid}: run the guard in the VMM's PID namespace, without a seccomp filter blocking pidfd_open")]
    PermissionDenied {
        /// The PID asked for.
        pid: i32,
    },
    /// `pidfd_open` said `ENOSYS`: the kernel predates pidfds (Linux 5.3).
    #[error("cannot watch pid {pid}: this kernel has no pidfd_open (needs Linux 5.3 or later)")]
    PidfdUnsupported {
        /// The PID asked for.
        pid: i32,
    },
    /// The PID names a thread, not a thread-group leader: `pidfd_open` says `EINVAL` (Linux
    /// 5.3–6.8, per the man page) or `ENOENT` (seen on 6.18).
    #[error("pid {pid} is a thread, not a process: give the VMM's process id (its thread-group leader)")]
    NotAProcess {
        /// The PID asked for.
        pid: i32,
    },
    /// Any other `pidfd_open` failure (e.g. `EMFILE`).
    #[error("cannot open a pidfd for pid {pid}: {source}")]
    Open {
        /// The PID asked for.
        pid: i32,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// `poll` on the pidfd failed.
    #[error("waiting for pid {pid} to exit failed: {source}")]
    Poll {
        /// The watched PID.
        pid: i32,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// The timeout passed while the process was still running.
    #[error("pid {pid} was still running after {waited:?}; no step was run")]
    TimedOut {
        /// The watched PID.
        pid: i32,
        /// The timeout that was given.
        waited: Duration,
    },
    /// The cancel descriptor became readable before the process exited.
    #[error("guard for pid {pid} was called off before the process exited; no step was run")]
    Cancelled {
        /// The watched PID.
        pid: i32,
    },
}

/// How the watched process ended, as far as the guard can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// It returned or called `exit` with this status.
    Exited(i32),
    /// A signal (this number) terminated it.
    Killed(i32),
    /// The guard is not the parent, so the kernel does not tell it the status; only that it exited.
    Unknown,
}

impl fmt::Display for ExitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exited with status {code}"),
            Self::Killed(signal) => write!(f, "killed by signal {signal}"),
            Self::Unknown => f.write_str("exited (status unknown: the guard is not its parent)"),
        }
    }
}

/// The moment the guard saw the process exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The PID that was watched.
    pub pid: i32,
    /// When `poll` reported the pidfd readable (the exit itself happened at most a wake-up earlier).
    pub seen_at: Instant,
    /// How it ended, when knowable.
    pub kind: ExitKind,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Position in the list, from 0.
    pub index: usize,
    /// From the exit being seen to this step starting.
    pub started_after_exit: Duration,
    /// How long the step itself ran.
    pub took: Duration,
    /// What the step said (a panicking step is reported as `Err` too).
    pub outcome: Result<String, String>,
}

/// Everything the guard did after the exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardReport {
    /// When and how the process exited.
    pub exit: Exit,
    /// One entry per step, in the order they ran; every step runs exactly once.
    pub steps: Vec<StepReport>,
    /// The first failure writing the log, if any. Logging never stops the resets.
    pub log_error: Option<String>,
}

impl GuardReport {
    /// Whether every step returned `Ok`.
    pub fn all_succeeded(&self) -> bool {
        self.steps.iter().all(|step| step.outcome.is_ok())
    }

    /// The steps that failed.
    pub fn failures(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(|step| step.outcome.is_err())
    }
}

/// A process being watched through its pidfd.
#[derive(Debug)]
pub struct Guard {
    pid: i32,
    pidfd: OwnedFd,
}

impl Guard {
    /// Opens a pidfd for `pid`. Works for any process the guard can see, not only its children.
    pub fn attach(pid: i32) -> Result<Self, GuardError> {
        let raw = if pid > 0 { Pid::from_raw(pid) } else { None };
        let Some(raw) = raw else {
            return Err(GuardError::InvalidPid { pid });
        };
        match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(pidfd) => Ok(Self { pid, pidfd }),
            Err(Errno::SRCH) => Err(GuardError::NoSuchProcess { pid }),
            Err(Errno::PERM) | Err(Errno::ACCESS) => Err(GuardError::PermissionDenied { pid }),
            Err(Errno::NOSYS) => Err(GuardError::PidfdUnsupported { pid }),
            Err(Errno::INVAL) | Err(Errno::NOENT) => Err(GuardError::NotAProcess { pid }),
            Err(errno) => Err(GuardError::Open { pid, source: errno.into() }),
        }
    }

    /// The watched PID.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Blocks until the process exits (or `timeout` passes). Returns at once if it already has.
    pub fn wait(self, timeout: Option<Duration>) -> Result<Exit, GuardError> {
        self.wait_cancellable(timeout, None)
    }

    /// Like [`Guard::wait`], but also ends — with [`GuardError::Cancelled`] — when `cancel`
    /// becomes readable first. If both are ready, the exit wins: the devices still need resetting.
    pub fn wait_cancellable(
        self,
        timeout: Option<Duration>,
        cancel: Option<BorrowedFd<'_>>,
    ) -> Result<Exit, GuardError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let remaining_ts = deadline
                .map(|deadline| duration_to_timespec(deadline.saturating_duration_since(Instant::now())));

            let mut fds = Vec::with_capacity(2);
            fds.push(PollFd::new(&self.pidfd, PollFlags::IN));
            if let Some(cancel) = cancel {
                fds.push(PollFd::from_borrowed_fd(cancel, PollFlags::IN));
            }
            match poll(&mut fds, remaining_ts.as_ref()) {
                // A handled signal interrupted the wait; a signal meant to stop us comes through
                // `cancel` (or kills us under the default disposition), so just wait again.
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(GuardError::Poll { pid: self.pid, source: errno.into() }),
                Ok(_) => {}
            }
            // Any event on the pidfd (IN on exit, HUP once reaped on newer kernels, ERR) means
            // the process is gone.
            if !fds[0].revents().is_empty() {
                let seen_at = Instant::now();
                return Ok(Exit { pid: self.pid, seen_at, kind: exit_kind(self.pidfd.as_fd()) });
            }
            if fds.get(1).is_some_and(|fd| !fd.revents().is_empty()) {
                return Err(GuardError::Cancelled { pid: self.pid });
            }
            if let (Some(waited), Some(deadline)) = (timeout, deadline) {
                if Instant::now() >= deadline {
                    return Err(GuardError::TimedOut { pid: self.pid, waited });
                }
            }
        }
    }

    /// Waits for the exit, then runs every step once, in order, logging each one.
    pub fn run(self, steps: Vec<Step>, log: &mut dyn Write) -> Result<GuardReport, GuardError> {
        self.run_cancellable(None, steps, log)
    }

    /// Like [`Guard::run`], but a readable `cancel` descriptor before the exit ends it without
    /// running any step (see the module comment on signals).
    pub fn run_cancellable(
        self,
        cancel: Option<BorrowedFd<'_>>,
        steps: Vec<Step>,
        log: &mut dyn Write,
    ) -> Result<GuardReport, GuardError> {
        let mut log = Log { out: log, error: None };
        let pid = self.pid;
        log.line(format_args!("guard: watching pid {pid} through a pidfd"));
        let exit = self.wait_cancellable(None, cancel)?;
        let total = steps.len();
        log.line(format_args!("+{:.6}s pid {pid} {}; running {total} step(s)", 0.0, exit.kind));

        let mut reports = Vec::with_capacity(total);
        // `into_iter` hands each step out once: no step can run twice, whatever happens.
        for (index, mut step) in steps.into_iter().enumerate() {
            let started = Instant::now();
            let started_after_exit = started.saturating_duration_since(exit.seen_at);
            // A panicking step must not keep the later devices from being reset.
            let outcome = match catch_unwind(AssertUnwindSafe(&mut step)) {
                Ok(outcome) => outcome,
                Err(payload) => Err(format!("step panicked: {}", panic_message(&*payload))),
            };
            let took = started.elapsed();
            let (verdict, text) = match &outcome {
                Ok(text) => ("ok", text),
                Err(text) => ("FAILED", text),
            };
            log.line(format_args!(
                "+{:.6}s step {}/{total} {verdict} (took {took:?}): {text}",
                started_after_exit.as_secs_f64(),
                index + 1,
            ));
            reports.push(StepReport { index, started_after_exit, took, outcome });
        }

        let failed = reports.iter().filter(|step| step.outcome.is_err()).count();
        log.line(format_args!(
            "+{:.6}s guard: done, {failed} of {total} step(s) failed",
            exit.seen_at.elapsed().as_secs_f64()
        ));
        Ok(GuardReport { exit, steps: reports, log_error: log.error })
    }
}

/// Attaches to `pid`, waits for it to exit, then runs each step once, in order, logging each.
/// Step failures are in the report; only attaching and waiting return an error.
pub fn run_guard(pid: i32, steps: Vec<Step>, log: &mut dyn Write) -> Result<GuardReport, GuardError> {
    Guard::attach(pid)?.run(steps, log)
}

/// The log sink: remembers the first write failure instead of stopping the resets over it.
struct Log<'a> {
    out: &'a mut dyn Write,
    error: Option<String>,
}

impl Log<'_> {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        let written =
            self.out.write_fmt(args).and_then(|()| self.out.write_all(b"\n")).and_then(|()| self.out.flush());
        if let Err(err) = written {
            self.error.get_or_insert_with(|| err.to_string());
        }
    }
}

/// The status, when the kernel will tell us: only the parent may `waitid` on a pidfd. `NOWAIT`
/// leaves the zombie for the parent to reap, so a guard inside the VMM's launcher does not steal
/// its exit status.
fn exit_kind(pidfd: BorrowedFd<'_>) -> ExitKind {
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    match waitid(WaitId::PidFd(pidfd), options) {
        Ok(Some(status)) => {
            if let Some(code) = status.exit_status() {
                ExitKind::Exited(code)
            } else if let Some(signal) = status.terminating_signal() {
                ExitKind::Killed(signal)
            } else {
                ExitKind::Unknown
            }
        }
        // ECHILD (not our child), or already reaped by its parent: only the exit is known.
        _ => ExitKind::Unknown,
    }
}

/// A timeout far beyond what `Timespec` holds is as good as none left to lose: clamp it.
fn duration_to_timespec(duration: Duration) -> Timespec {
    Timespec::try_from(duration).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}
