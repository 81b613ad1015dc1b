//! The running kernel's clocks as debugfs shows them in `/sys/kernel/debug/clk/clk_summary`:
//! each clock's name and rate and, on kernels that list them, its consumers (the device and the
//! connection id it asked for, `clocks`/`clock-names` in DT terms). Older kernels print no
//! consumers; newer ones (Debian's 6.1.192 among them: the column reached the stable series)
//! add a consumer and a connection-id column, one consumer per line.
//!
//! Owns: reading and parsing that file. Must not: write anything, or decide what a rate is used
//! for (the guest device tree does).

use std::path::PathBuf;

use crate::sysfs::{HostError, SysfsRoot};

/// Where the summary sits below a sysfs root.
pub const SUMMARY: &str = "sys/kernel/debug/clk/clk_summary";

/// The largest summary read: a phone SoC's runs to a few hundred KiB.
const SUMMARY_CAP: usize = 16 << 20;

/// One clock of the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveClock {
    /// Its name in the clock framework.
    pub name: String,
    /// Its rate in Hz, as the framework last computed it.
    pub rate: u64,
    /// `(device, connection id)` of each consumer, as printed: `deviceless` and
    /// `no_connection_id` stand for none.
    pub consumers: Vec<(String, String)>,
}

/// The parsed summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSummary {
    /// The file read.
    pub path: PathBuf,
    /// Every clock, in the file's order.
    pub clocks: Vec<LiveClock>,
    /// Whether this kernel prints consumers (its header has a `consumer` column).
    pub lists_consumers: bool,
}

/// Why a summary cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The file cannot be read.
    #[error(
        "{0}; the clock summary needs debugfs mounted (mount -t debugfs none /sys/kernel/debug) and root"
    )]
    Read(#[source] HostError),
    /// A line that is no line of the format.
    #[error("{path}: line {line}: {why}")]
    Format {
        /// The file.
        path: String,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// Reads and parses `<root>/sys/kernel/debug/clk/clk_summary`.
pub fn read(root: &SysfsRoot) -> Result<ClockSummary, ClockError> {
    let path = root.root().join(SUMMARY);
    let bytes = root.read_file(&path, SUMMARY_CAP).map_err(ClockError::Read)?;
    let text = String::from_utf8_lossy(&bytes);
    let (clocks, lists_consumers) = parse(&text).map_err(|(line, why)| ClockError::Format {
        path: path.display().to_string(),
        line,
        why,
    })?;
    Ok(ClockSummary { path, clocks, lists_consumers })
}

/// The clocks of a summary's text and whether it lists consumers; an error names the line
/// (from 1) and what is wrong with it.
pub fn parse(text: &str) -> Result<(Vec<LiveClock>, bool), (usize, String)> {
    let mut clocks: Vec<LiveClock> = Vec::new();
    let mut lists_consumers = false;
    let mut in_body = false;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if !in_body {
            // The header: column titles, then a rule of dashes.
            lists_consumers |= line.split_whitespace().any(|w| w == "consumer");
            in_body = !line.is_empty() && line.trim().chars().all(|c| c == '-');
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            // A clock: name, enable, prepare and protect counts, rate, accuracy, then phase,
            // duty cycle and hardware state, then its first consumer on newer kernels.
            [name, enable, prepare, protect, rate, accuracy, rest @ ..]
                if [enable, prepare, protect, accuracy].iter().all(|w| w.parse::<i64>().is_ok()) =>
            {
                let rate =
                    rate.parse::<u64>().map_err(|_| (number, format!("rate `{rate}` is not a number")))?;
                let consumers = match rest {
                    [_, _, _, device, connection, ..] => vec![(device.to_string(), connection.to_string())],
                    _ => Vec::new(),
                };
                clocks.push(LiveClock { name: name.to_string(), rate, consumers });
            }
            // A further consumer of the clock above.
            [device, connection] => match clocks.last_mut() {
                Some(clock) => clock.consumers.push((device.to_string(), connection.to_string())),
                None => return Err((number, "a consumer line before any clock".into())),
            },
            _ => return Err((number, format!("not a clock or consumer line: `{}`", line.trim()))),
        }
    }
    if !in_body {
        return Err((text.lines().count().max(1), "no header rule (----): not a clk_summary".into()));
    }
    Ok((clocks, lists_consumers))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The layout before the consumer column (drivers/clk/clk.c, clk_summary_show).
    const WITHOUT_CONSUMERS: &str = "                                 enable  prepare  protect                                duty  hardware
   clock                          count    count    count        rate   accuracy phase  cycle    enable
-------------------------------------------------------------------------------------------------------
 apb-pclk                             1        1        0    24000000          0     0  50000         Y
    uart-div                          0        0        0    12000000          0 -----  50000         ?
";

    /// The layout with consumers: the first on the clock's line, the others on lines of their
    /// own (the real 6.1.192 kernel's output is checked in crates/cli/tests/kernel.rs).
    const WITH_CONSUMERS: &str = "                                 enable  prepare  protect                                duty  hardware                            connection
   clock                          count    count    count        rate   accuracy phase  cycle    enable   consumer                         id
---------------------------------------------------------------------------------------------------------------------------------------------
 osc24M                              3       3        0        24000000    0          0     50000  Y      deviceless                      no_connection_id
                                                                                                          1c28000.serial                  no_connection_id
    pll-ve                           1       1        0        600000000   0          0     50000  Y      deviceless                      no_connection_id
       ve                            1       1        0        600000000   0          0     50000  Y      1c0e000.video-codec             mod
";

    #[test]
    fn an_older_kernel_gives_names_and_rates_and_no_consumers() {
        let (clocks, consumers) = parse(WITHOUT_CONSUMERS).unwrap();
        assert!(!consumers);
        assert_eq!(clocks.len(), 2);
        assert_eq!((clocks[1].name.as_str(), clocks[1].rate), ("uart-div", 12_000_000));
        assert!(clocks.iter().all(|c| c.consumers.is_empty()));
    }

    #[test]
    fn later_kernels_give_each_clocks_consumers() {
        let (clocks, consumers) = parse(WITH_CONSUMERS).unwrap();
        assert!(consumers);
        assert_eq!(
            clocks[0].consumers,
            [
                ("deviceless".into(), "no_connection_id".into()),
                ("1c28000.serial".into(), "no_connection_id".into())
            ]
        );
        assert_eq!(clocks[2].consumers, [("1c0e000.video-codec".to_string(), "mod".to_string())]);
        assert_eq!(clocks[2].rate, 600_000_000);
    }

    #[test]
    fn anything_else_is_refused_with_its_line() {
        assert_eq!(parse("hello\n").unwrap_err().1, "no header rule (----): not a clk_summary");
        let bad_rate = format!(
            "{}{}",
            &WITHOUT_CONSUMERS[..WITHOUT_CONSUMERS.find(" apb").unwrap()],
            " a 1 1 0 fast 0 0 5 Y\n"
        );
        assert_eq!(parse(&bad_rate).unwrap_err(), (4, "rate `fast` is not a number".into()));
        let stray = "x\n---\n dev con\n";
        assert_eq!(parse(stray).unwrap_err(), (3, "a consumer line before any clock".into()));
        assert!(parse("---\n a b c\n").unwrap_err().1.starts_with("not a clock or consumer line"));
    }
}
