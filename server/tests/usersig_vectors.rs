//! The official generator's vectors, vendored in tests/vectors/usersig-vectors.json.

use natter_server::usersig::{self, UserSigError};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/usersig-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

struct V {
    app: u64,
    key: String,
    user: String,
    expire: u64,
    issued: i64,
    sig: String,
    decoded: Value,
}

fn parse(v: &Value) -> V {
    V {
        app: v["sdkAppID"].as_u64().unwrap(),
        key: v["secretKey"].as_str().unwrap().into(),
        user: v["userID"].as_str().unwrap().into(),
        expire: v["expireSeconds"].as_u64().unwrap(),
        issued: v["issuedAtUnix"].as_i64().unwrap(),
        sig: v["userSig"].as_str().unwrap().into(),
        decoded: v["decoded"].clone(),
    }
}

#[test]
fn official_sigs_verify_until_expiry() {
    let all = vectors();
    assert!(!all.is_empty());
    for v in all.iter().map(parse) {
        let end = v.issued + v.expire as i64;
        for now in [v.issued, v.issued + 1, end - 1] {
            let c = usersig::verify(&v.sig, v.app, &v.key, &v.user, now)
                .unwrap_or_else(|e| panic!("{} at {now}: {e}", v.user));
            assert_eq!(
                (c.identifier.as_str(), c.sdk_app_id, c.time, c.expire),
                (v.user.as_str(), v.app, v.issued, v.expire)
            );
            assert_eq!(c.expires_at(), end);
        }
        for now in [end, end + 1, end + 86_400] {
            assert_eq!(
                usersig::verify(&v.sig, v.app, &v.key, &v.user, now),
                Err(UserSigError::Expired)
            );
        }
        assert_eq!(usersig::decode(&v.sig).unwrap(), v.decoded);
    }
}

#[test]
fn generation_with_a_fixed_clock_matches_the_official_json() {
    let all = vectors();
    for v in all.iter().map(parse) {
        let ours = usersig::generate(v.app, &v.key, &v.user, v.expire, v.issued).unwrap();
        let decoded = usersig::decode(&ours).unwrap();
        assert_eq!(decoded, v.decoded, "{}", v.user);
        assert_eq!(decoded["TLS.sig"], v.decoded["TLS.sig"]);
        assert!(usersig::verify(&ours, v.app, &v.key, &v.user, v.issued).is_ok());
    }
}

#[test]
fn refusal_codes() {
    let all = vectors();
    for v in all.iter().map(parse) {
        let t = v.issued;
        let e = |r: Result<usersig::Claims, UserSigError>| r.unwrap_err().code();
        assert_eq!(e(usersig::verify(&v.sig, v.app, "wrong-key", &v.user, t)), 70009);
        assert_eq!(e(usersig::verify(&v.sig, v.app, &v.key, "someone-else", t)), 70013);
        assert_eq!(e(usersig::verify(&v.sig, v.app + 1, &v.key, &v.user, t)), 70014);
        assert_eq!(
            e(usersig::verify(&v.sig[..v.sig.len() / 2], v.app, &v.key, &v.user, t)),
            70003
        );
        assert_eq!(e(usersig::verify("not a usersig!", v.app, &v.key, &v.user, t)), 70003);
        assert_eq!(e(usersig::verify("", v.app, &v.key, &v.user, t)), 70002);
        assert_eq!(
            e(usersig::verify(&v.sig, v.app, &v.key, &v.user, t + v.expire as i64)),
            70001
        );
    }
}
