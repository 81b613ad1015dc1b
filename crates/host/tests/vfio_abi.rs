//! The VFIO ABI of `platreset_host::vfio` against the system's `<linux/vfio.h>` (REFERENCE §1),
//! and the errors `Container::open` gives on a machine without VFIO.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use platreset_host::vfio::{self, Container, VfioError};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("platreset-policy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles and runs a C program that prints every name of `abi_table()` as the header defines
/// it. The names are C expressions (`VFIO_DEVICE_RESET`, `sizeof(struct vfio_irq_info)`,
/// `offsetof(struct vfio_irq_info, count)`), so the program evaluates exactly what the kernel's
/// header says, not a copy of our numbers.
fn header_values(names: &[&str]) -> BTreeMap<String, u64> {
    let dir = TempDir::new("abi");
    let mut source =
        String::from("#include <stddef.h>\n#include <stdio.h>\n#include <linux/vfio.h>\nint main(void) {\n");
    for name in names {
        source.push_str(&format!("    printf(\"%s=%llu\\n\", \"{name}\", (unsigned long long)({name}));\n"));
    }
    source.push_str("    return 0;\n}\n");
    let c = dir.0.join("vfio_abi.c");
    let exe = dir.0.join("vfio_abi");
    std::fs::write(&c, &source).unwrap();
    let status = Command::new("cc").arg("-Wall").arg("-o").arg(&exe).arg(&c).status().expect("run cc");
    assert!(status.success(), "cc failed on:\n{source}");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_vfio_number_flag_and_struct_layout_matches_the_system_header() {
    let table = vfio::abi_table();
    let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    let header = header_values(&names);
    assert_eq!(header.len(), table.len(), "duplicate names in abi_table()");
    let mismatches: Vec<String> = table
        .iter()
        .filter(|(name, value)| header[*name] != *value)
        .map(|(name, value)| format!("{name}: ours {value:#x}, <linux/vfio.h> {:#x}", header[*name]))
        .collect();
    assert!(mismatches.is_empty(), "ABI mismatches:\n{}", mismatches.join("\n"));
    eprintln!("{} VFIO ABI values match /usr/include/linux/vfio.h", table.len());
}

#[test]
fn the_table_covers_every_ioctl_constant_and_struct_of_reference_section_1() {
    // The list the brief and REFERENCE §1 ask for, written out so that dropping an entry from
    // abi_table() cannot make the header comparison pass vacuously.
    let required = [
        "VFIO_GET_API_VERSION",
        "VFIO_CHECK_EXTENSION",
        "VFIO_SET_IOMMU",
        "VFIO_GROUP_GET_STATUS",
        "VFIO_GROUP_SET_CONTAINER",
        "VFIO_GROUP_UNSET_CONTAINER",
        "VFIO_GROUP_GET_DEVICE_FD",
        "VFIO_DEVICE_GET_INFO",
        "VFIO_DEVICE_GET_REGION_INFO",
        "VFIO_DEVICE_GET_IRQ_INFO",
        "VFIO_DEVICE_SET_IRQS",
        "VFIO_DEVICE_RESET",
        "VFIO_API_VERSION",
        "VFIO_TYPE1_IOMMU",
        "VFIO_TYPE1v2_IOMMU",
        "VFIO_NOIOMMU_IOMMU",
        "VFIO_GROUP_FLAGS_VIABLE",
        "VFIO_DEVICE_FLAGS_RESET",
        "VFIO_DEVICE_FLAGS_PCI",
        "VFIO_DEVICE_FLAGS_PLATFORM",
        "VFIO_DEVICE_FLAGS_AMBA",
        "sizeof(struct vfio_group_status)",
        "sizeof(struct vfio_device_info)",
        "sizeof(struct vfio_region_info)",
        "sizeof(struct vfio_irq_info)",
        "offsetof(struct vfio_group_status, argsz)",
        "offsetof(struct vfio_device_info, argsz)",
        "offsetof(struct vfio_region_info, argsz)",
        "offsetof(struct vfio_irq_info, argsz)",
    ];
    let table: BTreeMap<&str, u64> = vfio::abi_table().into_iter().collect();
    for name in required {
        assert!(table.contains_key(name), "abi_table() lacks {name}");
    }
    // REFERENCE §1: _IO(';', 100 + n), n = 0..=11 in the order listed there.
    for (n, name) in required[..12].iter().enumerate() {
        assert_eq!(table[name], (0x3B << 8) | (100 + n as u64), "{name}");
    }
    // REFERENCE §1: RESET 1<<0, PLATFORM 1<<2, AMBA 1<<3.
    assert_eq!(table["VFIO_DEVICE_FLAGS_RESET"], 1);
    assert_eq!(table["VFIO_DEVICE_FLAGS_PLATFORM"], 4);
    assert_eq!(table["VFIO_DEVICE_FLAGS_AMBA"], 8);
}

#[test]
fn opening_a_missing_container_names_the_path() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-vfio");
    let err = Container::open(&path).unwrap_err();
    assert!(matches!(err, VfioError::Missing { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("modprobe vfio"), "{text}");
}

#[test]
fn a_regular_file_is_not_a_vfio_container() {
    let dir = TempDir::new("regular");
    let path = dir.0.join("vfio");
    std::fs::write(&path, b"not a device").unwrap();
    let err = Container::open(&path).unwrap_err();
    assert!(matches!(err, VfioError::NotVfio { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("not a VFIO container"), "{text}");
    assert!(text.contains("VFIO_GET_API_VERSION"), "{text}");
    assert!(text.contains("ENOTTY"), "{text}");
}

#[test]
fn a_character_device_that_is_not_vfio_is_refused_cleanly() {
    // /dev/null accepts open(O_RDWR) and answers unknown ioctls with ENOTTY, like any non-VFIO
    // character device a mistyped path could name.
    let err = Container::open(Path::new("/dev/null")).unwrap_err();
    assert!(err.to_string().contains("/dev/null is not a VFIO container"), "{err}");
}

#[test]
fn an_unreadable_container_says_which_permission_is_needed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("perm");
    let path = dir.0.join("vfio");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    match Container::open(&path).unwrap_err() {
        err @ VfioError::PermissionDenied { .. } => {
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("readable and writable"), "{text}");
            println!("permission denied as expected: {text}");
        }
        // Root (CAP_DAC_OVERRIDE) opens a mode-000 file anyway and then meets ENOTTY; to exercise
        // EACCES for real, run this same test again as `nobody` when setpriv is there.
        err @ VfioError::NotVfio { .. } => {
            assert!(rustix::process::geteuid().is_root(), "{err}");
            let exe = std::env::current_exe().unwrap();
            let run = Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&exe)
                .args(["--exact", "an_unreadable_container_says_which_permission_is_needed", "--nocapture"])
                .output();
            match run {
                Ok(out) => {
                    let log = String::from_utf8_lossy(&out.stdout);
                    assert!(out.status.success(), "as nobody:\n{log}");
                    assert!(log.contains("permission denied"), "as nobody:\n{log}");
                    eprintln!("root bypasses permissions; re-ran as nobody:\n{log}");
                }
                Err(e) => eprintln!(
                    "root bypasses permissions and setpriv is unavailable ({e}): EACCES not exercised"
                ),
            }
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn the_default_container_on_this_machine_opens_or_explains_why_not() {
    match Container::open_default() {
        Ok(container) => {
            eprintln!("{} opened, API version {}", container.path().display(), vfio::VFIO_API_VERSION)
        }
        Err(err) => {
            let text = err.to_string();
            assert!(text.contains(vfio::DEFAULT_CONTAINER), "{text}");
            eprintln!("no VFIO here: {text}");
        }
    }
}
