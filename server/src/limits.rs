//! Connection slots, per source IP and in total. A slot is held for the whole life of a TCP
//! connection (including an upgraded WebSocket) and released when the last clone of it drops.
//! The total cap sits below the process's fd limit so that `accept` keeps working and excess
//! clients get a quick 503 instead of waiting in the backlog.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct SourceLimits {
    max: u32,
    max_total: u32,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    per_source: HashMap<IpAddr, u32>,
    total: u32,
}

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This source already holds its maximum (HTTP 429).
    Source,
    /// The server holds its global maximum (HTTP 503).
    Global,
}

/// Proof of one connection slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SourceSlot {
    limits: Arc<SourceLimits>,
    ip: IpAddr,
}

impl SourceLimits {
    /// `max` per source, `max_total` in all; 0 means no limit.
    pub fn new(max: u32, max_total: u32) -> Arc<Self> {
        Arc::new(SourceLimits {
            max,
            max_total,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for `ip`, unless the server or that source is full (the global cap is checked first).
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<SourceSlot, Refusal> {
        let mut counts = self.lock();
        if self.max_total != 0 && counts.total >= self.max_total {
            return Err(Refusal::Global);
        }
        let n = counts.per_source.entry(ip).or_insert(0);
        if self.max != 0 && *n >= self.max {
            return Err(Refusal::Source);
        }
        *n += 1;
        counts.total += 1;
        Ok(SourceSlot {
            limits: Arc::clone(self),
            ip,
        })
    }

    /// Connections holding a slot.
    pub fn total(&self) -> u32 {
        self.lock().total
    }

    #[cfg(test)]
    pub fn count(&self, ip: IpAddr) -> u32 {
        self.lock().per_source.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut counts = self.limits.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_source.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_source.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_source_and_released_on_drop() {
        let l = SourceLimits::new(2, 0);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let s1 = l.try_acquire(a).unwrap();
        let s2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).err(), Some(Refusal::Source));
        let _s3 = l.try_acquire(b).unwrap();
        assert_eq!(l.count(a), 2);
        drop(s1);
        let s4 = l.try_acquire(a).unwrap();
        drop((s2, s4));
        assert_eq!(l.count(a), 0);
        assert!(!l.lock().per_source.contains_key(&a));
        assert_eq!(l.total(), 1);
    }

    #[test]
    fn global_cap_counts_every_source() {
        let l = SourceLimits::new(2, 3);
        let ips: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let held: Vec<_> = ips[..3].iter().map(|ip| l.try_acquire(*ip).unwrap()).collect();
        assert_eq!(l.try_acquire(ips[3]).err(), Some(Refusal::Global));
        assert_eq!(l.try_acquire(ips[0]).err(), Some(Refusal::Global));
        drop(held);
        assert_eq!(l.total(), 0);
        assert!(l.try_acquire(ips[3]).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let l = SourceLimits::new(0, 0);
        let slots: Vec<_> = (0..1000)
            .map(|_| l.try_acquire("::1".parse().unwrap()).unwrap())
            .collect();
        assert_eq!(l.count("::1".parse().unwrap()), 1000);
        drop(slots);
        assert!(l.lock().per_source.is_empty());
    }
}
