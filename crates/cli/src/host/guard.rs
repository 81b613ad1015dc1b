//! `platreset host guard`: watch a VMM through a pidfd and, when it exits, reset each of its
//! devices through VFIO (or, with `--generic-reset`, through its reset controllers) and give it
//! back to its driver.
//!
//! Owns: the steps the guard runs and their wording. Must not: wait for the process itself
//! (`platreset-host`'s guard does).

use crate::error::CliError;

use super::*;

/// Guards `devices` of the VMM `pid`.
pub(super) fn guard(
    args: &HostArgs,
    root: &SysfsRoot,
    pid: &i32,
    devices: &[String],
    yes: &bool,
    generic_reset: &bool,
    restore: &bool,
) -> Result<(), CliError> {
    let mut steps: Vec<Step> = Vec::new();
    let dtb = args.common.dtb.clone().unwrap_or_else(|| args.common.sysfs_root.join("sys/firmware/fdt"));
    let facts = KernelFacts::read(&args.common.sysfs_root);
    for name in devices {
        let d = platreset_host::discover::read_device(root, name)?;
        let group = vfio_group_of(&d, &facts, *yes)?;
        let group_file = group_file_of(&args.common.sysfs_root, group)?;
        let (name, yes, generic, dt_path, dtb) =
            (name.clone(), *yes, *generic_reset, d.dt_path.clone(), dtb.clone());
        steps.push(Box::new(move || {
            if !yes {
                return Ok(format!("dry run: would reset {name} through VFIO (add --yes)"));
            }
            let vfio = Container::open_default()
                .and_then(|c| Group::open(&c, &group_file))
                .and_then(|g| g.device(&name))
                .and_then(|d| d.reset());
            match vfio {
                Ok(()) => Ok(format!("{name} reset through VFIO")),
                Err(e) if generic => {
                    let node = dt_path
                        .clone()
                        .ok_or_else(|| format!("{e}; and {name} has no DT node for a generic reset"))?;
                    generic_reset_of(&dtb, &node).map(|report| {
                        format!(
                            "{name}: VFIO could not ({e}); reset through its reset controllers:\n{report}"
                        )
                    })
                }
                Err(e) => Err(format!("{e} (--generic-reset would reset it through its reset controllers)")),
            }
        }));
    }
    if *restore {
        for name in devices {
            let (name, yes, root) = (name.clone(), *yes, SysfsRoot::new(&args.common.sysfs_root));
            steps.push(Box::new(move || {
                if !yes {
                    return Ok(format!("dry run: would give {name} back to its host driver"));
                }
                let mut writer = LoggingWriter::new(RealWriter);
                let report = unbind(&root, &name, &mut writer).map_err(|e| e.to_string())?;
                Ok(format!("{name} is back on {}", report.driver.as_deref().unwrap_or("no driver")))
            }));
        }
    }
    let report = run_guard(*pid, steps, &mut std::io::stderr())?;
    if !report.all_succeeded() {
        return Err(CliError::Host(format!(
            "{} reset step(s) failed after pid {pid} exited",
            report.failures().count()
        )));
    }
    Ok(())
}
