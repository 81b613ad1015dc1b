//! `platreset demo`: the whole story on a built-in example SoC, with no hardware and no downloads.
//! The SoC is our own DTS (`data/demo-soc.dts`), compiled with `dtc -@` and embedded in the
//! binary; a test checks the embedded blob is what dtc makes of the source.

use clap::Args;

use crate::audit::{self, Format, Input};
use crate::error::CliError;
use platreset_vfio::policy::Options;

/// The example SoC's device tree, compiled from `data/demo-soc.dts`.
pub const DEMO_DTB: &[u8] = include_bytes!("../../../data/demo-soc.dtb");

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
        std::fs::write(path, DEMO_DTB).map_err(|source| CliError::Input { path: path.clone(), source })?;
        println!("wrote the demo SoC's DTB ({} bytes) to {}", DEMO_DTB.len(), path.display());
        return Ok(());
    }
    println!("platreset demo: a made-up SoC (data/demo-soc.dts) with an R-Car-style CPG/MSSR reset");
    println!("controller, a reset-simple controller, an SMMU and a dozen devices.\n");
    println!("Step 1 - audit: every device with a reset line, who shares it, and the verdict.");
    println!("The allowlist holds no evidence for these made-up devices, so the audit runs with");
    println!("--trust-reset: \"quiescence unproven\" shows as an accepted warning, not a refusal.\n");
    let trusting = Options { trust_reset: true, ..Options::default() };
    let input = Input {
        display: "demo-soc.dtb".into(),
        path: "demo-soc.dtb".into(),
        from_directory: false,
        regular: true,
    };
    let outcome = audit::audit_one(
        &mut None,
        &input,
        Ok(DEMO_DTB),
        &audit::Settings::builtin(trusting)?,
        Format::Table,
    );
    audit::render(&[outcome], Format::Table, &mut std::io::stdout().lock())?;
    println!("\nStep 2 - reset (dry run): the register writes that reset the SD host, exactly as");
    println!("Linux's CPG/MSSR driver does them. Nothing is written anywhere.\n");
    let reset_args = crate::reset::ResetArgs {
        dtb: "demo-soc.dtb".into(),
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
    crate::reset::run_on(DEMO_DTB, "demo-soc.dtb", &reset_args)?;
    println!("\nWhat it shows:");
    println!("  - the three PWM channels share one reset line (cpg 523): resetting one resets the others,");
    println!("    so none of them may be handed to a VM on its own (the case that sank the 2018 series);");
    println!("  - the SD host and the Ethernet MAC have dedicated lines and sit behind the SMMU: eligible;");
    println!("  - the DMA engine has a dedicated line but no IOMMU: its DMA could reach all host memory;");
    println!("  - the UART's reset-simple driver has no .reset: Linux's reset_control_reset would fail,");
    println!("    platreset could only pulse the line (accepted with --allow-pulse);");
    println!(
        "  - a reset through a controller is a handful of register writes, shown before anything is done."
    );
    println!("\nNext: `platreset audit <your.dtb>` on your own board's device tree,");
    println!("`platreset explain <your.dtb> <device>` for the rules one by one, then");
    println!("`platreset reset <your.dtb> <device>` to see how it would be reset.");
    Ok(())
}
