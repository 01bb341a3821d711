//! The process's file-descriptor limit (`RLIMIT_NOFILE`).
//!
//! Every session holds one socket, so the soft limit caps the sessions a node can hold. Linux
//! starts most processes at a soft limit of 1024 (or whatever the shell or service manager set)
//! while the hard limit is usually far higher; without raising it a node stops accepting at that
//! many connections with `accept failed: Too many open files`. The binary raises the soft limit to
//! the hard limit before anything else reads it (the default `max_connections` is derived from it).

use std::fmt;

/// What [`raise_to_hard`] found and left in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit (the ceiling an unprivileged process can raise its soft limit to).
    pub hard: u64,
}

impl fmt::Display for NofileLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: u64| {
            if v == UNLIMITED {
                "unlimited".to_owned()
            } else {
                v.to_string()
            }
        };
        write!(
            f,
            "soft {} (was {}), hard {}",
            show(self.soft),
            show(self.before),
            show(self.hard)
        )
    }
}

/// `RLIM_INFINITY` as a plain number.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is 32-bit on some Unix targets
pub const UNLIMITED: u64 = libc::RLIM_INFINITY as u64;
#[cfg(not(unix))]
pub const UNLIMITED: u64 = u64::MAX;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns what is in force afterwards.
///
/// Where the kernel refuses the hard limit itself (macOS caps the soft limit at
/// `kern.maxfilesperproc` even when the hard limit is unlimited) it retries with halves, so
/// start-up never fails on this.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is 32-bit on some Unix targets
pub fn raise_to_hard() -> std::io::Result<NofileLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur as u64;
    let hard = lim.rlim_max as u64;
    let mut target = lim.rlim_max;
    while target > lim.rlim_cur {
        let wanted = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            return Ok(NofileLimit {
                before,
                soft: target as u64,
                hard,
            });
        }
        target /= 2;
    }
    Ok(NofileLimit {
        before,
        soft: before,
        hard,
    })
}

/// No file-descriptor limit to raise off Unix.
#[cfg(not(unix))]
pub fn raise_to_hard() -> std::io::Result<NofileLimit> {
    Ok(NofileLimit {
        before: UNLIMITED,
        soft: UNLIMITED,
        hard: UNLIMITED,
    })
}

/// Why the limit in force is too low for `max_connections` (0 = no cap) spread over `tables`
/// file-descriptor tables (1 + `accept_shards`; each has the whole limit), if it is.
///
/// A connection's descriptor outlives its slot: after a close frame the socket lingers up to 2 s
/// so the client reads it, and a reconnecting client opens its new socket meanwhile. Under churn a
/// node therefore needs up to two descriptors per allowed connection; below that `accept` can fail
/// with `Too many open files` before the 503 cap answers.
pub fn shortfall(limit: &NofileLimit, max_connections: u32, tables: u32) -> Option<String> {
    if limit.soft == UNLIMITED {
        return None;
    }
    if max_connections == 0 {
        return Some(format!(
            "max_connections is 0 (no cap) but the file-descriptor limit is {}: past it accept fails with \
             `Too many open files`; set max_connections or raise the hard limit (LimitNOFILE=, ulimit -Hn)",
            limit.soft
        ));
    }
    let tables = u64::from(tables.max(1));
    let needed = 2 * u64::from(max_connections).div_ceil(tables);
    (limit.soft < needed).then(|| {
        let per = if tables > 1 {
            format!(" per table ({tables} tables)")
        } else {
            String::new()
        };
        format!(
            "file-descriptor limit {} is below 2 x max_connections{per} ({needed}): closing sockets linger and \
             reconnecting clients may hit `Too many open files`; raise the hard limit (LimitNOFILE=, ulimit -Hn), \
             add accept_shards (Linux) or lower max_connections",
            limit.soft
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(soft: u64) -> NofileLimit {
        NofileLimit {
            before: 1024,
            soft,
            hard: soft,
        }
    }

    #[test]
    fn shortfall_wants_two_descriptors_per_connection() {
        assert_eq!(shortfall(&limit(200_000), 100_000, 1), None);
        assert!(shortfall(&limit(199_999), 100_000, 1)
            .unwrap()
            .contains("below 2 x max_connections (200000)"));
        assert!(shortfall(&limit(1024), 0, 1).unwrap().contains("no cap"));
        assert_eq!(shortfall(&limit(UNLIMITED), 0, 1), None);
    }

    #[test]
    fn shortfall_counts_each_table_on_its_own() {
        assert_eq!(shortfall(&limit(20_000), 50_000, 5), None);
        assert!(shortfall(&limit(20_000), 50_000, 2)
            .unwrap()
            .contains("below 2 x max_connections per table (2 tables) (50000)"));
    }

    #[test]
    fn display_names_unlimited() {
        let l = NofileLimit {
            before: 1024,
            soft: UNLIMITED,
            hard: UNLIMITED,
        };
        assert_eq!(l.to_string(), "soft unlimited (was 1024), hard unlimited");
    }
}
