//! Turning PATH arguments into the ordered list of DTB files to read.
//!
//! A file argument is taken as given; a directory contributes every `*.dtb` below it, sorted by
//! the relative path as a string (`/`-separated), so the order is the same on every machine.
//! Symbolic links to files are followed, links to directories are not (no cycles).

use std::path::{Path, PathBuf};

use crate::error::CliError;

/// One file to audit.
#[derive(Debug, Clone)]
pub struct Input {
    /// What to print: the argument joined with the relative path, with every character a
    /// terminal would obey escaped (a file name can hold ESC, CR or LF).
    pub display: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Whether it came from a directory walk.
    pub from_directory: bool,
    /// Known to be a regular file (from the directory entry or the argument's metadata): it can
    /// be read without asking its size first.
    pub regular: bool,
}

/// The running host's flattened device tree.
pub const HOST_FDT: &str = "/sys/firmware/fdt";

/// Expands the arguments (or the host's DTB when there are none).
pub fn collect(args: &[PathBuf]) -> Result<Vec<Input>, CliError> {
    if args.is_empty() {
        let path = PathBuf::from(HOST_FDT);
        std::fs::metadata(&path).map_err(|source| CliError::NoHostFdt { path: path.clone(), source })?;
        return Ok(vec![Input { display: HOST_FDT.into(), path, from_directory: false, regular: false }]);
    }
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|source| CliError::Input { path: arg.clone(), source })?;
        let shown = arg.to_string_lossy();
        if !meta.is_dir() {
            out.push(Input {
                display: crate::term::safe(&shown).into_owned(),
                path: arg.clone(),
                from_directory: false,
                regular: meta.is_file(),
            });
            continue;
        }
        let mut found = walk(arg)?;
        if found.is_empty() {
            return Err(CliError::Input {
                path: arg.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "a directory with no *.dtb file in it or below it",
                ),
            });
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let sep = if shown.ends_with('/') { "" } else { "/" };
        out.extend(found.into_iter().map(|(rel, path, regular)| Input {
            display: crate::term::safe(&format!("{shown}{sep}{rel}")).into_owned(),
            path,
            from_directory: true,
            regular,
        }));
    }
    Ok(out)
}

/// Every `*.dtb` below `root`, as (relative path with `/`, full path, is a regular file).
fn walk(root: &Path) -> Result<Vec<(String, PathBuf, bool)>, CliError> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), root.to_path_buf())];
    while let Some((rel, dir)) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|source| CliError::Input { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| CliError::Input { path: dir.clone(), source })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| CliError::Input { path: path.clone(), source })?;
            if kind.is_dir() {
                pending.push((child_rel, path));
            } else if name.ends_with(".dtb") {
                // A link is followed only to a file; a dangling one is read (and reported) later.
                let is_dir_link = kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
                if !is_dir_link {
                    found.push((child_rel, path, kind.is_file()));
                }
            }
        }
    }
    Ok(found)
}
