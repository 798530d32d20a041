//! CPU time of this process and of the children it waited for, from `/proc/self/stat`.

use std::time::Duration;

/// Linux's `/proc` clock ticks per second (`USER_HZ`, 100 on every mainstream architecture).
const TICKS_PER_SEC: u64 = 100;

/// CPU time (user + system) used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// By this process, every thread.
    pub own: Duration,
    /// By the children it has waited for (`pgbench`, `psql`, `redis-benchmark`).
    pub children: Duration,
}

/// This process's CPU times so far; `None` where `/proc/self/stat` cannot be read (not Linux).
/// The resolution is one clock tick (10 ms): measure spans of many operations.
pub fn cpu_times() -> Option<CpuTimes> {
    parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// This process's CPU time so far; zero where it cannot be read.
pub fn own_cpu() -> Duration {
    cpu_times().map_or(Duration::ZERO, |t| t.own)
}

/// The CPU time of the children waited for so far; zero where it cannot be read.
pub fn children_cpu() -> Duration {
    cpu_times().map_or(Duration::ZERO, |t| t.children)
}

/// `utime + stime` and `cutime + cstime` of a `/proc/<pid>/stat` line.
fn parse(stat: &str) -> Option<CpuTimes> {
    // The command name (field 2) may hold spaces and parentheses: fields after its closing
    // parenthesis start with field 3 (`state`), so field n is at index n - 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    let time = |t: u64| Duration::from_millis(t * 1000 / TICKS_PER_SEC);
    Some(CpuTimes { own: time(ticks(14)? + ticks(15)?), children: time(ticks(16)? + ticks(17)?) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_after_the_command_name() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 10 0";
        let times = parse(stat).expect("parses");
        assert_eq!(times.own, Duration::from_secs(3));
        assert_eq!(times.children, Duration::from_millis(100));
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn this_process_has_cpu_times_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_times().is_some());
        }
    }
}
