//! Writing a set of files so that a failure leaves none of them half-written: each file goes to an
//! exclusively created temporary beside its target (a random name, `O_CREAT|O_EXCL`, which never
//! follows a planted symlink), and only when every temporary is written are they renamed over
//! their targets.
//!
//! Owns: directories, temporaries, renames and their clean-up. Must not: decide what is written.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// One file to write: where, what, and its mode.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The target path.
    pub path: PathBuf,
    /// Its full content.
    pub bytes: Vec<u8>,
}

/// A name no other process predicts: the process id and a hash seeded by the standard library's
/// per-process random keys.
fn temp_name(target: &Path, attempt: u32) -> PathBuf {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    hasher.write(target.as_os_str().as_encoded_bytes());
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.platreset-{}-{:016x}", std::process::id(), hasher.finish()))
}

fn output_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::WriteFile { path: path.to_path_buf(), source }
}

/// Refuses a target that exists and is not a regular file (a symlink, FIFO, device, directory).
fn check_target(path: &Path) -> Result<(), CliError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(()),
        Ok(_) => Err(output_error(
            path,
            std::io::Error::other(
                "exists and is not a regular file (a symlink, directory or device): refusing to replace it",
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(output_error(path, e)),
    }
}

fn write_temp(file: &Planned, make_dirs: bool) -> Result<PathBuf, CliError> {
    let dir = file.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if make_dirs {
        std::fs::create_dir_all(dir).map_err(|e| output_error(dir, e))?;
    }
    for attempt in 0..16 {
        let temp = temp_name(&file.path, attempt);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(mut handle) => {
                let written = handle.write_all(&file.bytes).and_then(|()| handle.sync_all());
                return match written {
                    Ok(()) => Ok(temp),
                    Err(e) => {
                        let _ = std::fs::remove_file(&temp);
                        Err(output_error(&file.path, e))
                    }
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(output_error(&file.path, e)),
        }
    }
    Err(output_error(&file.path, std::io::Error::other("no unused temporary name after 16 tries")))
}

/// Writes every file or none: returns the paths written, in order. `make_dirs`: create missing
/// directories above the files (an install under a staging root); without it a missing
/// directory is an error, as for a file the user named.
pub fn write_all_or_none(files: &[Planned], make_dirs: bool) -> Result<Vec<PathBuf>, CliError> {
    for file in files {
        check_target(&file.path)?;
    }
    let mut temps = Vec::with_capacity(files.len());
    for file in files {
        match write_temp(file, make_dirs) {
            Ok(temp) => temps.push(temp),
            Err(e) => {
                for temp in &temps {
                    let _ = std::fs::remove_file(temp);
                }
                return Err(e);
            }
        }
    }
    let mut done = Vec::with_capacity(files.len());
    for (index, (file, temp)) in files.iter().zip(&temps).enumerate() {
        if let Err(e) = std::fs::rename(temp, &file.path) {
            for temp in &temps[index..] {
                let _ = std::fs::remove_file(temp);
            }
            let written: Vec<String> = done.iter().map(|p: &PathBuf| p.display().to_string()).collect();
            let already = if written.is_empty() {
                "nothing was replaced".to_string()
            } else {
                format!("already in place: {}", written.join(", "))
            };
            return Err(output_error(&file.path, std::io::Error::new(e.kind(), format!("{e}; {already}"))));
        }
        done.push(file.path.clone());
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("platreset-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_file_is_written_and_no_temporary_is_left() {
        let dir = dir("ok");
        let files = [
            Planned { path: dir.join("a/one.conf"), bytes: b"one\n".to_vec() },
            Planned { path: dir.join("two.conf"), bytes: b"two\n".to_vec() },
        ];
        std::fs::write(dir.join("two.conf"), b"old").unwrap();
        write_all_or_none(&files, true).unwrap();
        assert_eq!(std::fs::read(dir.join("a/one.conf")).unwrap(), b"one\n");
        assert_eq!(std::fs::read(dir.join("two.conf")).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_symlinked_target_fails_the_whole_set_before_anything_is_written() {
        let dir = dir("symlink");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("two.conf")).unwrap();
        let files = [
            Planned { path: dir.join("one.conf"), bytes: b"one\n".to_vec() },
            Planned { path: dir.join("two.conf"), bytes: b"two\n".to_vec() },
        ];
        let err = write_all_or_none(&files, true).unwrap_err().to_string();
        assert!(err.contains("not a regular file") && err.contains("two.conf"), "{err}");
        assert!(!dir.join("one.conf").exists(), "nothing written when one target is refused");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_write_removes_the_temporaries_already_made() {
        let dir = dir("fail");
        // A directory where a parent directory should be: creating it fails.
        std::fs::write(dir.join("blocker"), b"").unwrap();
        let files = [
            Planned { path: dir.join("one.conf"), bytes: b"one\n".to_vec() },
            Planned { path: dir.join("blocker/two.conf"), bytes: b"two\n".to_vec() },
        ];
        assert!(write_all_or_none(&files, true).is_err());
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("blocker")], "{names:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
