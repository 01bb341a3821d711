//! The behaviour every [`SessionDirectory`] engine must show, written once and run against each
//! engine by `tests/directory.rs` (memory, and Redis on a real `redis-server`). Not a stable API.

use super::{Admission, AdmitError, ConnId, Control, DirectorySettings, KickOrder, NodeId, SessionDirectory};
use crate::Policy;
use async_trait::async_trait;
use natter_protocol::{KickType, Platform};
use std::sync::Arc;
use std::time::Duration;

/// Builds a fresh, empty directory of one engine for each scenario.
#[async_trait]
pub trait Factory: Sync {
    async fn make(&self, settings: DirectorySettings) -> Arc<dyn SessionDirectory>;
}

/// Every node id the scenarios put in a [`ConnId`]; an engine with node liveness must treat
/// them as alive.
pub const NODES: [&str; 6] = ["m", "n", "n1", "n2", "node-a", "node-b"];

pub fn settings(policy: Policy, max_per_group: u32) -> DirectorySettings {
    DirectorySettings {
        policy,
        max_per_group,
        kick_memory_ttl: Duration::from_secs(600),
        kicks_per_user: 64,
        kicks_total: 100_000,
    }
}

pub fn conn(node: &str, seq: u64) -> ConnId {
    ConnId {
        node: NodeId(node.into()),
        seq,
    }
}

pub fn admission(user: &str, instance: &str, platform: Platform, resume: bool, conn: ConnId) -> Arc<Admission> {
    Arc::new(Admission {
        user_id: user.to_owned(),
        instance_id: instance.to_owned(),
        platform,
        resume,
        conn,
        connected_at_ms: 1_700_000_000_000,
        client_version: "natter-protocol/1".to_owned(),
    })
}

fn platforms(list: &[super::InstanceInfo]) -> Vec<Platform> {
    list.iter().map(|i| i.platform).collect()
}

fn controls(orders: &[KickOrder]) -> Vec<(String, Control)> {
    orders.iter().map(|o| (o.instance_id.clone(), o.control)).collect()
}

/// Runs every scenario; panics (with the scenario's name) on the first failure.
pub async fn run_all(f: &dyn Factory) {
    same_instance_replaces_without_kick(f).await;
    kicks_oldest_and_refuses_its_resume_until_fresh_login(f).await;
    kick_user_and_kick_self_are_remembered(f).await;
    kick_instance_ends_only_that_instance(f).await;
    instances_carry_what_the_admin_api_lists(f).await;
    the_four_policies_hold(f).await;
    kick_memory_expires(f).await;
    concurrent_logins_never_both_win(f).await;
}

pub async fn same_instance_replaces_without_kick(f: &dyn Factory) {
    let d = f.make(settings(Policy::Multi, 1)).await;
    let c1 = conn("n1", 1);
    let c2 = conn("n2", 1);
    assert!(d
        .admit(&admission("a", "i1", Platform::Web, false, c1.clone()))
        .await
        .unwrap()
        .is_empty());
    let orders = d
        .admit(&admission("a", "i1", Platform::Web, true, c2.clone()))
        .await
        .unwrap();
    assert_eq!(controls(&orders), vec![("i1".to_owned(), Control::Replaced)]);
    assert_eq!(orders[0].conn, c1);
    assert_eq!(platforms(&d.instances("a").await.unwrap()), vec![Platform::Web]);
    assert!(
        !d.remove("a", &c1).await.unwrap(),
        "the replaced connection is gone already"
    );
    assert!(d.remove("a", &c2).await.unwrap());
    assert!(d.instances("a").await.unwrap().is_empty());
}

pub async fn kicks_oldest_and_refuses_its_resume_until_fresh_login(f: &dyn Factory) {
    let d = f.make(settings(Policy::Multi, 1)).await;
    d.admit(&admission("a", "i1", Platform::Web, false, conn("n", 1)))
        .await
        .unwrap();
    d.admit(&admission("a", "android", Platform::Android, false, conn("n", 2)))
        .await
        .unwrap();
    let orders = d
        .admit(&admission("a", "i2", Platform::Web, false, conn("n", 3)))
        .await
        .unwrap();
    assert_eq!(
        controls(&orders),
        vec![("i1".to_owned(), Control::Kick(KickType::MultipleAccount))]
    );
    assert_eq!(orders[0].conn, conn("n", 1));
    assert_eq!(
        platforms(&d.instances("a").await.unwrap()),
        vec![Platform::Android, Platform::Web]
    );
    assert_eq!(
        d.admit(&admission("a", "i1", Platform::Web, true, conn("n", 4))).await,
        Err(AdmitError::Kicked(KickType::MultipleAccount))
    );
    // A fresh login clears the memory and kicks i2 in turn, whose resume is then refused.
    let orders = d
        .admit(&admission("a", "i1", Platform::Web, false, conn("n", 5)))
        .await
        .unwrap();
    assert_eq!(
        controls(&orders),
        vec![("i2".to_owned(), Control::Kick(KickType::MultipleAccount))]
    );
    assert!(!d.remove("a", &conn("n", 999)).await.unwrap());
    assert_eq!(
        d.admit(&admission("a", "i2", Platform::Web, true, conn("n", 6))).await,
        Err(AdmitError::Kicked(KickType::MultipleAccount))
    );
    assert!(d.remembered_kicks().await.unwrap() >= 1);
}

pub async fn kick_user_and_kick_self_are_remembered(f: &dyn Factory) {
    let d = f.make(settings(Policy::Single, 2)).await;
    let c1 = conn("n", 1);
    d.admit(&admission("a", "i1", Platform::Ios, false, c1.clone()))
        .await
        .unwrap();
    let none = d
        .admit(&admission("a", "i2", Platform::Mac, false, conn("m", 1)))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(d.kick_self("a", &c1, KickType::UserSigExpired).await.unwrap());
    assert!(!d.kick_self("a", &c1, KickType::UserSigExpired).await.unwrap());
    let orders = d.kick_user("a", KickType::RestApi).await.unwrap();
    assert_eq!(
        controls(&orders),
        vec![("i2".to_owned(), Control::Kick(KickType::RestApi))]
    );
    assert_eq!(orders[0].conn, conn("m", 1));
    assert!(d.instances("a").await.unwrap().is_empty());
    assert_eq!(
        d.admit(&admission("a", "i1", Platform::Ios, true, conn("n", 2))).await,
        Err(AdmitError::Kicked(KickType::UserSigExpired))
    );
    assert_eq!(
        d.admit(&admission("a", "i2", Platform::Mac, true, conn("n", 3))).await,
        Err(AdmitError::Kicked(KickType::RestApi))
    );
    assert!(d.kick_user("nobody", KickType::RestApi).await.unwrap().is_empty());
}

pub async fn kick_instance_ends_only_that_instance(f: &dyn Factory) {
    let d = f.make(settings(Policy::Multi, 1)).await;
    d.admit(&admission("k", "web", Platform::Web, false, conn("n", 1)))
        .await
        .unwrap();
    d.admit(&admission("k", "phone", Platform::Android, false, conn("m", 7)))
        .await
        .unwrap();
    let order = d.kick_instance("k", "phone", KickType::RestApi).await.unwrap().unwrap();
    assert_eq!(
        (order.conn, order.control),
        (conn("m", 7), Control::Kick(KickType::RestApi))
    );
    assert_eq!(platforms(&d.instances("k").await.unwrap()), vec![Platform::Web]);
    assert!(d
        .kick_instance("k", "phone", KickType::RestApi)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        d.admit(&admission("k", "phone", Platform::Android, true, conn("m", 8)))
            .await,
        Err(AdmitError::Kicked(KickType::RestApi))
    );
}

pub async fn instances_carry_what_the_admin_api_lists(f: &dyn Factory) {
    let d = f.make(settings(Policy::Multi, 1)).await;
    let first = Arc::new(Admission {
        connected_at_ms: 1_700_000_000_123,
        client_version: "natter-protocol/1".into(),
        ..(*admission("l", "desk", Platform::Windows, false, conn("node-a", 3))).clone()
    });
    d.admit(&first).await.unwrap();
    d.admit(&admission("l", "tab", Platform::Ipad, false, conn("node-b", 9)))
        .await
        .unwrap();
    let list = d.instances("l").await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].instance_id, "desk");
    assert_eq!(list[0].platform, Platform::Windows);
    assert_eq!(list[0].conn, conn("node-a", 3));
    assert_eq!(list[0].connected_at_ms, 1_700_000_000_123);
    assert_eq!(list[0].client_version, "natter-protocol/1");
    assert_eq!(
        (list[1].instance_id.as_str(), &list[1].conn),
        ("tab", &conn("node-b", 9))
    );
    assert!(d.instances("nobody").await.unwrap().is_empty());
}

/// (policy, online before, new login, the index it displaces and how).
type PolicyCase = (Policy, &'static [Platform], Platform, Option<(usize, KickType)>);

/// One scenario per policy: which earlier instance a new login displaces, and how.
pub async fn the_four_policies_hold(f: &dyn Factory) {
    use Platform::*;
    let cases: [PolicyCase; 6] = [
        (
            Policy::Multi,
            &[Web, Android],
            Android,
            Some((1, KickType::MultipleDevice)),
        ),
        (Policy::Multi, &[Web, Android], Mac, None),
        (Policy::Single, &[Android], Web, Some((0, KickType::MultipleDevice))),
        (Policy::Dual, &[Web, Mac], Android, Some((1, KickType::MultipleDevice))),
        (Policy::Dual, &[Web, Mac], Web, Some((0, KickType::MultipleAccount))),
        (
            Policy::Triple,
            &[Web, Ios, Mac],
            Ipad,
            Some((1, KickType::MultipleDevice)),
        ),
    ];
    for (n, (policy, before, new, expected)) in cases.into_iter().enumerate() {
        let d = f.make(settings(policy, 1)).await;
        let user = format!("p{n}");
        for (i, p) in before.iter().enumerate() {
            let orders = d
                .admit(&admission(&user, &format!("i{i}"), *p, false, conn("n", i as u64)))
                .await
                .unwrap();
            assert!(orders.is_empty(), "{policy}: setup kicked {orders:?}");
        }
        let orders = d
            .admit(&admission(&user, "new", new, false, conn("n", 100)))
            .await
            .unwrap();
        let got: Vec<(String, Control)> = controls(&orders);
        let want: Vec<(String, Control)> = expected
            .map(|(i, kt)| (format!("i{i}"), Control::Kick(kt)))
            .into_iter()
            .collect();
        assert_eq!(got, want, "{policy}: {before:?} + {new:?}");
    }
}

pub async fn kick_memory_expires(f: &dyn Factory) {
    let ttl = Duration::from_millis(300);
    let d = f
        .make(DirectorySettings {
            kick_memory_ttl: ttl,
            ..settings(Policy::Multi, 1)
        })
        .await;
    d.admit(&admission("e", "x", Platform::Web, false, conn("n", 1)))
        .await
        .unwrap();
    d.admit(&admission("e", "y", Platform::Web, false, conn("n", 2)))
        .await
        .unwrap();
    assert_eq!(
        d.admit(&admission("e", "x", Platform::Web, true, conn("n", 3))).await,
        Err(AdmitError::Kicked(KickType::MultipleAccount))
    );
    // The passing of the memory's TTL is what is tested here.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(d
        .admit(&admission("e", "x", Platform::Web, true, conn("n", 4)))
        .await
        .is_ok());
}

/// Two logins of one user racing (as from two nodes): exactly one instance stays, and the other
/// was told so. Looped, so an interleaving that lets both win would show.
pub async fn concurrent_logins_never_both_win(f: &dyn Factory) {
    let d = f.make(settings(Policy::Multi, 1)).await;
    for round in 0..50u64 {
        let user = format!("race{round}");
        let a = admission(&user, "a", Platform::Web, false, conn("n1", round));
        let b = admission(&user, "b", Platform::Web, false, conn("n2", round));
        let (ra, rb) = tokio::join!(d.admit(&a), d.admit(&b));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let online = d.instances(&user).await.unwrap();
        assert_eq!(online.len(), 1, "round {round}: {online:?}");
        let kicked: Vec<&KickOrder> = ra.iter().chain(rb.iter()).collect();
        assert_eq!(
            kicked.len(),
            1,
            "round {round}: exactly one loser is kicked: {kicked:?}"
        );
        assert_ne!(kicked[0].instance_id, online[0].instance_id, "round {round}");
    }
}
