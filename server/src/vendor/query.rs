//! The vendor SDK's socket URL query: `sdkappid`, `instanceid` (32 hex chars, one per SDK
//! instance, kept across reconnects), `platform` (the SDK's numeric platform code) and fields we
//! ignore (`random`, `host`, `version`, `sdkversion`, `compress`, `isminigame`).

use natter_protocol::{identifier, Platform};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectQuery {
    pub sdk_app_id: Option<u64>,
    pub instance_id: String,
    pub platform: Platform,
}

/// Why the upgrade is refused (HTTP 400 with the 60003 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueryError {
    #[error("instanceid {0}")]
    InstanceId(String),
}

/// The SDK's platform codes (its `PLATFORM` table) mapped onto Natter's instance groups. Web
/// pages and every mini-program host count as `web`; an unknown code counts as `web` too, the
/// SDK's own default.
pub(crate) fn platform(code: Option<&str>) -> Platform {
    match code.and_then(|c| c.parse::<u32>().ok()) {
        Some(2) => Platform::Android,
        Some(3) => Platform::Ios,
        Some(4) => Platform::Mac,
        Some(13) => Platform::Ipad,
        _ => Platform::Web,
    }
}

pub(crate) fn parse(q: &HashMap<String, String>) -> Result<ConnectQuery, QueryError> {
    let instance_id = q.get("instanceid").cloned().unwrap_or_default();
    identifier::validate_instance_id(&instance_id).map_err(|e| QueryError::InstanceId(e.to_string()))?;
    Ok(ConnectQuery {
        sdk_app_id: q.get("sdkappid").and_then(|s| s.parse().ok()),
        instance_id,
        platform: platform(q.get("platform").map(String::as_str)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_sdk_query() {
        let c = parse(&q(&[
            ("sdkappid", "1400000001"),
            ("instanceid", "dfd03c717c03689e5b6c6b4d88d8aa1a"),
            ("platform", "7"),
            ("random", "0.5"),
        ]))
        .unwrap();
        assert_eq!(c.sdk_app_id, Some(1400000001));
        assert_eq!(c.platform, Platform::Web);
        assert_eq!(platform(Some("2")), Platform::Android);
        assert_eq!(platform(Some("13")), Platform::Ipad);
        assert_eq!(platform(Some("x")), Platform::Web);
        assert!(parse(&q(&[("sdkappid", "1")])).is_err());
        assert!(parse(&q(&[("instanceid", "a b")])).is_err());
    }
}
