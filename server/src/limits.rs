//! Connection slots per source IP. A slot is held for the whole life of a TCP connection
//! (including an upgraded WebSocket) and released when the last clone of it drops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct SourceLimits {
    max: u32,
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// Proof of one connection slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SourceSlot {
    limits: Arc<SourceLimits>,
    ip: IpAddr,
}

impl SourceLimits {
    pub fn new(max: u32) -> Arc<Self> {
        Arc::new(SourceLimits {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `ip`, or `None` when it already holds `max` connections (`max == 0`: no limit).
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if self.max != 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            limits: Arc::clone(self),
            ip,
        })
    }

    #[cfg(test)]
    pub fn count(&self, ip: IpAddr) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&ip)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut counts = self.limits.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_source_and_released_on_drop() {
        let l = SourceLimits::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let s1 = l.try_acquire(a).unwrap();
        let s2 = l.try_acquire(a).unwrap();
        assert!(l.try_acquire(a).is_none());
        let _s3 = l.try_acquire(b).unwrap();
        assert_eq!(l.count(a), 2);
        drop(s1);
        let s4 = l.try_acquire(a).unwrap();
        drop((s2, s4));
        assert_eq!(l.count(a), 0);
        assert!(l.counts.lock().unwrap().get(&a).is_none());
    }

    #[test]
    fn zero_means_no_limit() {
        let l = SourceLimits::new(0);
        let slots: Vec<_> = (0..1000)
            .map(|_| l.try_acquire("::1".parse().unwrap()).unwrap())
            .collect();
        assert_eq!(l.count("::1".parse().unwrap()), 1000);
        drop(slots);
        assert!(l.counts.lock().unwrap().is_empty());
    }
}
