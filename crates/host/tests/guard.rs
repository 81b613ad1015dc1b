//! The reset guard against real processes: a child killed by SIGKILL, one that exits on its own,
//! one the guard is not the parent of, and the ways attaching or a step can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use platreset_host::guard::{run_guard, ExitKind, Guard, GuardError, Step};
use rustix::process::{kill_process, Pid, Signal};

/// A step that counts its runs and records when it started.
fn counting_step(count: &Arc<AtomicUsize>, started: &Arc<Mutex<Option<Instant>>>) -> Step {
    let count = Arc::clone(count);
    let started = Arc::clone(started);
    Box::new(move || {
        *started.lock().unwrap() = Some(Instant::now());
        count.fetch_add(1, Ordering::SeqCst);
        Ok("reset done".to_string())
    })
}

#[test]
fn sigkilled_child_is_reset_exactly_once_within_100ms() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Mutex::new(None));

    let (attached_tx, attached_rx) = mpsc::channel();
    let guard_thread = {
        let (count, started) = (Arc::clone(&count), Arc::clone(&started));
        thread::spawn(move || {
            let guard = Guard::attach(pid).unwrap();
            attached_tx.send(()).unwrap();
            let mut log = Vec::new();
            let report = guard.run(vec![counting_step(&count, &started)], &mut log).unwrap();
            (report, String::from_utf8(log).unwrap())
        })
    };
    attached_rx.recv().unwrap();
    // Let the guard reach poll(); the measured latency below must not include attach time.
    thread::sleep(Duration::from_millis(20));

    let before_kill = Instant::now();
    child.kill().unwrap();
    let (report, log) = guard_thread.join().unwrap();
    // The guard only polled the pidfd; the child is a zombie until we reap it here.
    let status = child.wait().unwrap();
    assert!(!status.success());

    let step_start = started.lock().unwrap().unwrap();
    let latency = step_start.duration_since(before_kill);
    eprintln!("guard latency, SIGKILL to reset step start: {latency:?}");
    eprintln!("{log}");

    assert_eq!(count.load(Ordering::SeqCst), 1, "reset ran exactly once");
    assert!(latency < Duration::from_millis(100), "latency {latency:?}");
    assert_eq!(report.exit.pid, pid);
    assert_eq!(report.exit.kind, ExitKind::Killed(9));
    assert_eq!(report.steps.len(), 1);
    assert_eq!(report.steps[0].outcome, Ok("reset done".to_string()));
    assert!(report.steps[0].started_after_exit < Duration::from_millis(100));
    assert!(report.exit.seen_at >= before_kill);
    assert!(report.all_succeeded());
    assert!(report.log_error.is_none());
    assert!(log.contains("killed by signal 9"), "{log}");
    assert!(log.contains("step 1/1 ok"), "{log}");
}

#[test]
fn child_exiting_normally_is_reset_exactly_once() {
    let mut child = Command::new("sh").args(["-c", "sleep 0.1; exit 3"]).spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Mutex::new(None));
    let mut log = Vec::new();

    let report = run_guard(pid, vec![counting_step(&count, &started)], &mut log).unwrap();
    child.wait().unwrap();

    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(report.exit.kind, ExitKind::Exited(3));
    assert!(report.all_succeeded());
}

#[test]
fn already_exited_unreaped_child_is_reset_at_once() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    // Give `true` time to exit; not reaped, so the pid is a zombie and still ours to open.
    thread::sleep(Duration::from_millis(100));
    let count = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Mutex::new(None));

    let report =
        Guard::attach(pid).unwrap().run(vec![counting_step(&count, &started)], &mut Vec::new()).unwrap();
    assert!(child.wait().unwrap().success());

    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(report.exit.kind, ExitKind::Exited(0));
}

#[test]
fn guard_does_not_need_to_be_the_parent() {
    // The shell starts `sleep` and tells us its pid: the shell, not this process, is its parent.
    let mut shell =
        Command::new("sh").args(["-c", "sleep 30 & echo $!; wait"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(shell.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let grandchild: i32 = line.trim().parse().unwrap();

    let guard = Guard::attach(grandchild).unwrap();
    kill_process(Pid::from_raw(grandchild).unwrap(), Signal::KILL).unwrap();
    let exit = guard.wait(Some(Duration::from_secs(5))).unwrap();
    shell.wait().unwrap();

    assert_eq!(exit.pid, grandchild);
    // Only the parent may learn the status; the guard still learns of the exit.
    assert_eq!(exit.kind, ExitKind::Unknown);
}

#[test]
fn attaching_to_a_missing_pid_names_it() {
    // Above PID_MAX_LIMIT (2^22): no process can have this id.
    let pid = (1 << 22) + 12345;
    let err = Guard::attach(pid).unwrap_err();
    assert!(matches!(err, GuardError::NoSuchProcess { pid: p } if p == pid), "{err:?}");
    assert!(err.to_string().contains(&pid.to_string()), "{err}");

    let err = run_guard(pid, Vec::new(), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, GuardError::NoSuchProcess { .. }));
}

#[test]
fn zero_and_negative_pids_are_refused() {
    for pid in [0, -1, -1234] {
        let err = Guard::attach(pid).unwrap_err();
        assert!(matches!(err, GuardError::InvalidPid { pid: p } if p == pid), "{err:?}");
        assert!(err.to_string().contains(&pid.to_string()), "{err}");
    }
}

#[test]
fn a_thread_id_is_refused_as_not_a_process() {
    // Other test threads come and go; the parked thread names itself through /proc/thread-self
    // (a link to PID/task/TID).
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let parked = thread::spawn(move || {
        let link = std::fs::read_link("/proc/thread-self").unwrap();
        let tid: i32 = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
        tid_tx.send(tid).unwrap();
        done_rx.recv().ok();
    });
    let tid = tid_rx.recv().unwrap();
    assert_ne!(tid, i32::try_from(std::process::id()).unwrap());

    let err = Guard::attach(tid).unwrap_err();
    done_tx.send(()).unwrap();
    parked.join().unwrap();
    assert!(matches!(err, GuardError::NotAProcess { pid } if pid == tid), "{err:?}");
}

#[test]
fn a_failing_step_is_reported_and_later_steps_still_run() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let step = |name: &'static str, result: Result<&'static str, &'static str>| -> Step {
        let runs = Arc::clone(&runs);
        Box::new(move || {
            runs.lock().unwrap().push(name);
            result.map(str::to_string).map_err(str::to_string)
        })
    };
    let steps = vec![
        step("reset a", Ok("a reset")),
        step("reset b", Err("VFIO_DEVICE_RESET on b: EINVAL")),
        Box::new(|| -> Result<String, String> { panic!("step c exploded") }) as Step,
        step("restore a", Ok("a back on its driver")),
    ];
    let mut log = Vec::new();

    let report = run_guard(pid, steps, &mut log).unwrap();
    child.wait().unwrap();
    let log = String::from_utf8(log).unwrap();
    eprintln!("{log}");

    assert_eq!(*runs.lock().unwrap(), ["reset a", "reset b", "restore a"]);
    assert_eq!(report.steps.len(), 4);
    assert_eq!(report.steps[1].outcome, Err("VFIO_DEVICE_RESET on b: EINVAL".into()));
    assert!(report.steps[2].outcome.as_ref().unwrap_err().contains("step c exploded"));
    assert_eq!(report.steps[3].outcome, Ok("a back on its driver".into()));
    assert_eq!(report.failures().map(|s| s.index).collect::<Vec<_>>(), [1, 2]);
    assert!(!report.all_succeeded());
    // Steps run in order, each after the previous one.
    for pair in report.steps.windows(2) {
        assert!(pair[0].started_after_exit <= pair[1].started_after_exit);
    }
    assert!(log.contains("step 2/4 FAILED"), "{log}");
    assert!(log.contains("EINVAL"), "{log}");
    assert!(log.contains("step 4/4 ok"), "{log}");
    assert!(log.contains("2 of 4 step(s) failed"), "{log}");
    // Every step line carries a timestamp relative to the exit.
    assert!(log.lines().filter(|l| l.contains("step ")).all(|l| l.starts_with('+')), "{log}");
}

#[test]
fn wait_times_out_while_the_process_runs() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();

    let begun = Instant::now();
    let err = Guard::attach(pid).unwrap().wait(Some(Duration::from_millis(50))).unwrap_err();
    let waited = begun.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(matches!(err, GuardError::TimedOut { pid: p, .. } if p == pid), "{err:?}");
    assert!(waited >= Duration::from_millis(50), "{waited:?}");
}

#[test]
fn cancelling_before_the_exit_runs_no_step() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let cancel = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap();
    // What a SIGINT/SIGTERM handler in the CLI would do.
    rustix::io::write(&cancel, &1u64.to_ne_bytes()).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Mutex::new(None));

    let err = Guard::attach(pid)
        .unwrap()
        .run_cancellable(Some(cancel.as_fd()), vec![counting_step(&count, &started)], &mut Vec::new())
        .unwrap_err();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(matches!(err, GuardError::Cancelled { pid: p } if p == pid), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn a_log_that_cannot_be_written_does_not_stop_the_resets() {
    struct BrokenLog;
    impl std::io::Write for BrokenLog {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut child = Command::new("true").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Mutex::new(None));

    let report = run_guard(pid, vec![counting_step(&count, &started)], &mut BrokenLog).unwrap();
    child.wait().unwrap();

    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(report.log_error.unwrap().contains("disk full"));
}
