//! The multi-instance login policy as a pure function (no I/O, no clock): given the instances
//! online for a user (oldest first) and a new login, which instances must be kicked and how.

use crate::Policy;
use natter_protocol::{KickType, Platform};

/// The group a platform competes in under `policy`; instances of one group share the limit.
pub fn group(policy: Policy, platform: Platform) -> u8 {
    match policy {
        Policy::Multi => Platform::ALL.iter().position(|p| *p == platform).unwrap_or(0) as u8,
        Policy::Single => 0,
        Policy::Dual => u8::from(!platform.is_web()),
        Policy::Triple => {
            if platform.is_web() {
                0
            } else if platform.is_mobile() {
                1
            } else {
                2
            }
        }
    }
}

/// Kick type seen by an instance on `old` displaced by a login on `new`.
pub fn kick_type(old: Platform, new: Platform) -> KickType {
    if old.is_web() && new.is_web() {
        KickType::MultipleAccount
    } else {
        KickType::MultipleDevice
    }
}

/// Indices into `online` (oldest first) to kick so that a new login on `new` fits in its group's
/// limit `max_per_group` (0 is treated as 1), oldest first, each with its kick type.
pub fn decide(policy: Policy, max_per_group: u32, online: &[Platform], new: Platform) -> Vec<(usize, KickType)> {
    let max = max_per_group.max(1) as usize;
    let g = group(policy, new);
    let same: Vec<usize> = (0..online.len()).filter(|&i| group(policy, online[i]) == g).collect();
    let excess = (same.len() + 1).saturating_sub(max);
    same.into_iter()
        .take(excess)
        .map(|i| (i, kick_type(online[i], new)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use KickType::*;
    use Platform::*;

    #[test]
    fn multi_limits_each_platform_separately() {
        assert_eq!(decide(Policy::Multi, 1, &[], Web), vec![]);
        assert_eq!(decide(Policy::Multi, 1, &[Web], Web), vec![(0, MultipleAccount)]);
        assert_eq!(
            decide(Policy::Multi, 1, &[Web, Android, Ios], Android),
            vec![(1, MultipleDevice)]
        );
        assert_eq!(decide(Policy::Multi, 1, &[Web, Android, Ios], Mac), vec![]);
        assert_eq!(decide(Policy::Multi, 2, &[Web], Web), vec![]);
        assert_eq!(decide(Policy::Multi, 0, &[Linux], Linux), vec![(0, MultipleDevice)]);
    }

    #[test]
    fn oldest_first_until_it_fits() {
        let online = [Web, Android, Web, Web];
        assert_eq!(
            decide(Policy::Multi, 2, &online, Web),
            vec![(0, MultipleAccount), (2, MultipleAccount)]
        );
        assert_eq!(
            decide(Policy::Multi, 1, &online, Web),
            vec![(0, MultipleAccount), (2, MultipleAccount), (3, MultipleAccount)]
        );
    }

    #[test]
    fn single_is_one_across_all_platforms() {
        assert_eq!(decide(Policy::Single, 1, &[Web], Android), vec![(0, MultipleDevice)]);
        assert_eq!(decide(Policy::Single, 1, &[Android], Web), vec![(0, MultipleDevice)]);
        assert_eq!(decide(Policy::Single, 1, &[Web], Web), vec![(0, MultipleAccount)]);
        assert_eq!(decide(Policy::Single, 2, &[Ios, Mac], Web), vec![(0, MultipleDevice)]);
    }

    #[test]
    fn dual_is_web_plus_one_other() {
        assert_eq!(decide(Policy::Dual, 1, &[Web], Android), vec![]);
        assert_eq!(
            decide(Policy::Dual, 1, &[Web, Android], Windows),
            vec![(1, MultipleDevice)]
        );
        assert_eq!(decide(Policy::Dual, 1, &[Web, Mac], Web), vec![(0, MultipleAccount)]);
    }

    #[test]
    fn triple_is_web_mobile_desktop() {
        assert_eq!(
            decide(Policy::Triple, 1, &[Web, Ios, Mac], Linux),
            vec![(2, MultipleDevice)]
        );
        assert_eq!(
            decide(Policy::Triple, 1, &[Web, Ios, Mac], Ipad),
            vec![(1, MultipleDevice)]
        );
        assert_eq!(decide(Policy::Triple, 1, &[Ios, Mac], Web), vec![]);
        for p in Platform::ALL {
            let expected = [p.is_web(), p.is_mobile(), p.is_desktop()]
                .iter()
                .position(|b| *b)
                .unwrap();
            assert_eq!(group(Policy::Triple, *p) as usize, expected);
        }
    }

    #[test]
    fn groups_per_policy() {
        for p in Platform::ALL {
            assert_eq!(group(Policy::Single, *p), 0);
            assert_eq!(group(Policy::Dual, *p) == 0, p.is_web());
        }
        let multi: std::collections::HashSet<u8> = Platform::ALL.iter().map(|p| group(Policy::Multi, *p)).collect();
        assert_eq!(multi.len(), Platform::ALL.len());
    }
}
