//! Process CPU time from `/proc/<pid>/stat` (Linux), sampled at the start and end of the
//! measured window: the generator's own (to show what a handshake costs the client side, and
//! that the generator is not the bottleneck) and, with `--server-pid`, the server's.
//!
//! `utime` and `stime` are in clock ticks. The tick rate comes from `getconf CLK_TCK`, asked
//! once per run (`sysconf` would need `unsafe`); if that fails the Linux default of 100 is
//! assumed and the summary says so.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

/// Why CPU time could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not in the expected format", path.display())]
    Format { path: PathBuf },
}

/// Clock ticks per second for `/proc` CPU times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClockTicks {
    pub per_second: u64,
    /// `getconf` was unavailable and 100 was assumed.
    pub assumed: bool,
}

impl ClockTicks {
    pub fn detect() -> ClockTicks {
        let asked = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&n| n > 0);
        match asked {
            Some(per_second) => ClockTicks {
                per_second,
                assumed: false,
            },
            None => ClockTicks {
                per_second: 100,
                assumed: true,
            },
        }
    }

    pub fn to_duration(self, ticks: u64) -> Duration {
        Duration::from_micros(ticks.saturating_mul(1_000_000) / self.per_second)
    }
}

/// User and system CPU time of a process, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub user: u64,
    pub system: u64,
}

impl CpuTicks {
    /// CPU used between `earlier` and `self` (zero if the counters went backwards, as when a
    /// PID was reused).
    pub fn since(self, earlier: CpuTicks) -> CpuTicks {
        CpuTicks {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    pub fn total(self) -> u64 {
        self.user + self.system
    }
}

/// Which process to sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    /// This one.
    Current,
    Pid(u32),
}

impl Process {
    fn stat_path(self) -> PathBuf {
        match self {
            Process::Current => PathBuf::from("/proc/self/stat"),
            Process::Pid(pid) => PathBuf::from(format!("/proc/{pid}/stat")),
        }
    }

    /// Reads the process's CPU time so far (all threads).
    pub fn cpu(self) -> Result<CpuTicks, CpuError> {
        let path = self.stat_path();
        let text = std::fs::read_to_string(&path).map_err(|source| CpuError::Read {
            path: path.clone(),
            source,
        })?;
        parse_stat(&text).ok_or(CpuError::Format { path })
    }
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name
/// (field 2) is in parentheses and may itself contain spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<CpuTicks> {
    let rest = &text[text.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first, so utime (14) is the 12th.
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let user = fields.next()?.parse().ok()?;
    let system = fields.next()?.parse().ok()?;
    Some(CpuTicks { user, system })
}

/// CPU used over a window, converted to microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CpuUsage {
    pub user_us: u64,
    pub system_us: u64,
    pub total_us: u64,
}

impl CpuUsage {
    pub fn from_ticks(t: CpuTicks, clock: ClockTicks) -> CpuUsage {
        let us = |ticks| u64::try_from(clock.to_duration(ticks).as_micros()).unwrap_or(u64::MAX);
        CpuUsage {
            user_us: us(t.user),
            system_us: us(t.system),
            total_us: us(t.total()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_awkward_name() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    731 219 0 0 20 0 9 0 12345 123456789 2500 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(CpuTicks {
                user: 731,
                system: 219
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn reads_this_process() {
        let t = Process::Current.cpu().expect("/proc/self/stat");
        assert!(t.total() < u64::MAX);
        assert!(matches!(
            Process::Pid(u32::MAX).cpu(),
            Err(CpuError::Read { .. })
        ));
    }

    #[test]
    fn ticks_to_microseconds() {
        let clock = ClockTicks {
            per_second: 100,
            assumed: false,
        };
        let u = CpuUsage::from_ticks(
            CpuTicks {
                user: 150,
                system: 50,
            },
            clock,
        );
        assert_eq!(
            (u.user_us, u.system_us, u.total_us),
            (1_500_000, 500_000, 2_000_000)
        );
        let later = CpuTicks { user: 5, system: 5 };
        assert_eq!(
            later.since(CpuTicks { user: 9, system: 1 }),
            CpuTicks { user: 0, system: 4 }
        );
    }
}
