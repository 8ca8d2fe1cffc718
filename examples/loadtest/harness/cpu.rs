//! CPU time of a process from `/proc/PID/stat` (Linux): user + system time,
//! read before and after the measured window.

use std::path::Path;

/// CPU seconds (utime + stime) a process used so far, or an error naming the
/// problem (no such process, not Linux, unreadable).
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    cpu_seconds_of(&Path::new("/proc").join(pid.to_string()).join("stat"))
}

/// CPU seconds of this process.
pub fn own_cpu_seconds() -> Result<f64, String> {
    cpu_seconds_of(Path::new("/proc/self/stat"))
}

fn cpu_seconds_of(path: &Path) -> Result<f64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e}; check that the process runs (--server-pid) and that this is Linux",
            path.display()
        )
    })?;
    let ticks =
        parse_stat_ticks(&text).ok_or_else(|| format!("{}: unexpected format", path.display()))?;
    Ok(ticks as f64 / clock_ticks_per_second() as f64)
}

/// utime + stime (fields 14 and 15) in clock ticks. The command name (field 2)
/// is in parentheses and may hold spaces, so fields are counted after the last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')' the first field is field 3 (state): utime is the 12th, stime the 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `getconf CLK_TCK` (USER_HZ), 100 when it cannot be asked (the value on
/// every common Linux configuration).
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// The machine's count of UDP datagrams the kernel dropped because a socket's
/// receive buffer was full (`RcvbufErrors` in `/proc/net/snmp`; every process
/// counts, so other programs' drops show too). None when unreadable.
pub fn udp_receive_buffer_errors() -> Option<u64> {
    parse_udp_rcvbuf_errors(&std::fs::read_to_string("/proc/net/snmp").ok()?)
}

/// `RcvbufErrors` of the `Udp:` header/value line pair.
pub fn parse_udp_rcvbuf_errors(snmp: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let header = lines.next()?;
    let values = lines.next()?;
    let column = header
        .split_whitespace()
        .position(|h| h == "RcvbufErrors")?;
    values.split_whitespace().nth(column)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_spaces_in_the_name() {
        let line =
            "1234 (voice server) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_ticks(line), Some(287));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn parses_udp_receive_buffer_errors() {
        let snmp = "Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 41 4 11 42 7 0\nUdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 0\n";
        assert_eq!(parse_udp_rcvbuf_errors(snmp), Some(7));
        assert_eq!(parse_udp_rcvbuf_errors("nothing"), None);
    }

    #[test]
    fn reads_its_own_cpu() {
        assert!(own_cpu_seconds().expect("/proc/self/stat") >= 0.0);
    }
}
