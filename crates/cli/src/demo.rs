//! `platreset demo`: the whole story on a built-in example SoC, with no hardware and no downloads.
//! The SoC is our own DTS (`data/demo-soc.dts`), compiled with `dtc -@` and embedded in the
//! binary; a test checks the embedded blob is what dtc makes of the source.

use clap::Args;

use crate::audit::{self, Format, Input};
use crate::error::CliError;
use platreset_policy::policy::Options;
use platreset_sim::Fault;

/// The example SoC's device tree, compiled from `data/demo-soc.dts`.
pub const DEMO_DTB: &[u8] = include_bytes!("../data/demo-soc.dtb");

/// Arguments of `platreset demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Write the built-in DTB to this file instead (to try other commands on it).
    #[arg(long, value_name = "FILE")]
    pub write_dtb: Option<std::path::PathBuf>,
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    if let Some(path) = &args.write_dtb {
        crate::files::write_all_or_none(
            &[crate::files::Planned { path: path.clone(), bytes: DEMO_DTB.to_vec() }],
            false,
        )?;
        println!("wrote the demo SoC's DTB ({} bytes) to {}", DEMO_DTB.len(), path.display());
        return Ok(());
    }
    let file = "demo-soc.dtb";
    println!("platreset demo: a made-up SoC (data/demo-soc.dts): an R-Car-style CPG/MSSR reset controller,");
    println!("a reset-simple controller, an SMMU and a dozen devices. Nothing here touches hardware.\n");
    println!("Step 1 - audit: every device with a reset line, who shares it, and the policy's verdict.\n");
    let input = Input { display: file.into(), path: file.into(), from_directory: false, regular: true };
    let settings = audit::Settings::builtin(Options::default())?;
    let outcome = audit::audit_one(&mut None, &input, Ok(DEMO_DTB), &settings, Format::Table);
    audit::render(&[outcome], Format::Table, &mut crate::term::stdout(true))?;

    println!("\nStep 2 - explain /soc/pwm@e6e30000: why a PWM channel is refused, rule by rule.\n");
    crate::explain::explained(DEMO_DTB, file, "/soc/pwm@e6e30000", &settings.policy, |x| {
        for r in &x.rules {
            let mark = if r.pass { "pass" } else { "FAIL" };
            println!("  [{mark}] {}. {}: {}", r.rule.number(), r.rule.title(), r.evidence);
        }
    })?;

    println!("\nStep 3 - reset (dry run): the register writes that reset the SD host, exactly as");
    println!("Linux's CPG/MSSR driver does them.\n");
    let reset_args = crate::reset::ResetArgs {
        dtb: file.into(),
        node: "sdhi0".into(),
        line: None,
        assert: false,
        deassert: false,
        backend: crate::reset::Backend::Trace,
        write_hardware: false,
        force: false,
        devmem: "/dev/mem".into(),
        lock: platreset_devmem::DEFAULT_LOCK.into(),
        pulse_us: platreset_reset::DEFAULT_PULSE_US,
        format: crate::reset::Format::Text,
        policy: crate::policy_args::PolicyArgs::defaults(),
    };
    crate::reset::run_on(DEMO_DTB, file, &reset_args)?;

    println!("\nStep 4 - verify on the simulator: each device's DMA and interrupt are started, the same");
    println!(
        "driver resets it on simulated registers, and the bus is watched for {} us after.\n",
        platreset_sim::verify::RUN_ON
    );
    for (spec, what, faults) in [
        ("/soc/mmc@ee100000", "dedicated line", &[][..]),
        ("/soc/pwm@e6e30000", "shared line", &[][..]),
        (
            "/soc/dma-controller@e6700000",
            "broken IP (its reset leaves DMA running)",
            &[Fault::DmaSurvivesReset][..],
        ),
    ] {
        let (pass, summary) = crate::verify::summary_of(DEMO_DTB, file, spec, faults, &settings.policy)?;
        println!("  {} {spec} ({what}): {summary}", if pass { "PASS" } else { "FAIL" });
    }

    println!("\nStep 5 - kmod: the line that lets the kernel itself reset the eligible devices, through the");
    println!(
        "generic reset module (kmod/vfio-platform-reset-generic), with vfio-platform's reset_required=1"
    );
    println!("(`platreset kmod <your.dtb> --install` writes it and a DKMS tree):\n");
    let plan = crate::kmod::evaluator_plan(DEMO_DTB, file, &settings.policy, &[])?;
    println!("  {}", crate::kmod::options_line(&plan));

    println!("\nWhat it shows:");
    println!("  - the PWM channels share one reset line (cpg 523): resetting one resets the others, so");
    println!("    none may go to a VM alone (the case that sank the 2018 series); the simulator shows it;");
    println!("  - the SD host and the Ethernet MAC have dedicated lines, sit behind the SMMU, and the");
    println!("    simulator shows their reset stops DMA and interrupts (recorded in data/allowlist.toml): eligible;");
    println!("  - the DMA engine has no IOMMU; and if its IP ignored reset, verify would catch the DMA;");
    println!("  - the UART's reset-simple driver has no .reset: Linux's reset_control_reset would fail;");
    println!("  - the kernel module takes exactly the two eligible compatibles: vfio-platform then resets");
    println!("    them on every open, VFIO_DEVICE_RESET and close, even after the VMM is killed.");
    println!(
        "\nNext: `platreset audit <your.dtb>` on your own board, `platreset explain <your.dtb> <device>`"
    );
    println!("for the rules one by one, `platreset verify <your.dtb> <device>` to watch its reset, and");
    println!("`platreset guest-dt <your.dtb> <device> --target qemu|crosvm|xen|avf` for the guest's node.");

    Ok(())
}
