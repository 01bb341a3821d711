//! The core's event values, kick types, net states and error codes are the reference SDK's, as
//! vendored in tests/vectors/compat-facts.json.

use natter::{code, ChatEvent, KickType, NetState};
use serde_json::Value;

fn facts() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/compat-facts.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vendored facts")).expect("JSON")
}

#[test]
fn event_values_are_the_reference_ones() {
    let f = facts();
    let events = [
        ("SDK_READY", ChatEvent::SdkReady),
        ("SDK_NOT_READY", ChatEvent::SdkNotReady),
        (
            "KICKED_OUT",
            ChatEvent::KickedOut {
                kick_type: KickType::RestApi,
            },
        ),
        (
            "NET_STATE_CHANGE",
            ChatEvent::NetStateChange {
                state: NetState::Connected,
                reason: natter::NetReason::LoggedIn,
                retry_in_ms: None,
            },
        ),
        (
            "ERROR",
            ChatEvent::Error {
                code: 1,
                message: String::new(),
            },
        ),
        ("SDK_DESTROY", ChatEvent::SdkDestroy),
    ];
    for (key, event) in events {
        assert_eq!(f["events"][key], event.name(), "{key}");
    }
    assert_eq!(f["events"].as_object().unwrap().len(), 6);
}

#[test]
fn kick_types_and_net_states_are_the_reference_ones() {
    let f = facts();
    let kicks = [
        ("KICKED_OUT_MULT_ACCOUNT", KickType::MultipleAccount),
        ("KICKED_OUT_MULT_DEVICE", KickType::MultipleDevice),
        ("KICKED_OUT_USERSIG_EXPIRED", KickType::UserSigExpired),
        ("KICKED_OUT_REST_API", KickType::RestApi),
    ];
    for (key, k) in kicks {
        assert_eq!(f["types"][key], k.as_str(), "{key}");
    }
    for (key, s) in [
        ("NET_STATE_CONNECTED", NetState::Connected),
        ("NET_STATE_CONNECTING", NetState::Connecting),
        ("NET_STATE_DISCONNECTED", NetState::Disconnected),
    ] {
        assert_eq!(f["types"][key], s.as_str(), "{key}");
    }
}

#[test]
fn client_error_codes_are_the_reference_ones() {
    let f = facts();
    let codes = [
        ("NO_SDKAPPID", code::NO_SDKAPPID),
        ("NO_IDENTIFIER", code::NO_IDENTIFIER),
        ("NO_USERSIG", code::NO_USERSIG),
        ("USER_NOT_LOGGED_IN", code::USER_NOT_LOGGED_IN),
        ("REPEAT_LOGIN", code::REPEAT_LOGIN),
        ("NETWORK_ERROR", code::NETWORK_ERROR),
        ("NETWORK_TIMEOUT", code::NETWORK_TIMEOUT),
        ("SDK_IS_NOT_READY", code::SDK_IS_NOT_READY),
        ("LOGIN_FAILED", code::LOGIN_FAILED),
        ("KICKED_OUT_MULT_DEVICE", code::KICKED_OUT_MULT_DEVICE),
        ("KICKED_OUT_MULT_ACCOUNT", code::KICKED_OUT_MULT_ACCOUNT),
        ("KICKED_OUT_USERSIG_EXPIRED", code::KICKED_OUT_USERSIG_EXPIRED),
        ("LOGGED_OUT", code::LOGGED_OUT),
        ("KICKED_OUT_REST_API", code::KICKED_OUT_REST_API),
    ];
    for (key, c) in codes {
        assert_eq!(f["clientErrorCodes"][key], c, "{key}");
    }
}
