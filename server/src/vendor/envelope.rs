//! The vendor SDK's frame envelope: `{"head": {...}, "body": {...}}` as UTF-8 JSON, in a binary
//! frame on `/binfo` and a text frame on `/info`. A reply echoes the request's `servcmd` and `seq`
//! (the SDK matches replies on the pair). Field names in `body` are PascalCase on the wire.

use serde_json::{json, Map, Value};

/// The parts of a request head the server reads. Every other head field is ignored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// `service.command`, e.g. `im_open_status.wslogin`.
    pub servcmd: String,
    /// Chosen by the client; echoed so that it can match the reply.
    pub seq: Value,
    pub sdk_app_id: Option<u64>,
    pub identifier: Option<String>,
    pub usersig: Option<String>,
    pub a2: Option<String>,
    pub body: Value,
}

/// Why a frame is not a request we can answer (there is no `servcmd`/`seq` to echo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("frame is not UTF-8 JSON")]
    NotJson,
    #[error("frame has no head with a servcmd and a seq")]
    NoHead,
}

fn text(head: &Map<String, Value>, key: &str) -> Option<String> {
    head.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `sdkappid` arrives as a number; tolerate a decimal string too.
fn number(head: &Map<String, Value>, key: &str) -> Option<u64> {
    match head.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Request, EnvelopeError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| EnvelopeError::NotJson)?;
    let Some(head) = v.get("head").and_then(Value::as_object) else {
        return Err(EnvelopeError::NoHead);
    };
    let servcmd = text(head, "servcmd").ok_or(EnvelopeError::NoHead)?;
    let seq = match head.get("seq") {
        Some(s @ (Value::Number(_) | Value::String(_))) => s.clone(),
        _ => return Err(EnvelopeError::NoHead),
    };
    Ok(Request {
        sdk_app_id: number(head, "sdkappid"),
        identifier: text(head, "identifier"),
        usersig: text(head, "usersig"),
        a2: text(head, "a2"),
        body: v.get("body").cloned().unwrap_or(Value::Null),
        servcmd,
        seq,
    })
}

/// A successful reply carrying `fields` (PascalCase keys) besides the status triple.
pub(crate) fn ok(req: &Request, fields: Value) -> String {
    let mut body = json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), fields) {
        b.extend(extra);
    }
    reply(req, body)
}

/// A failed reply: the SDK rejects the request's promise with `code` and `info`.
pub(crate) fn fail(req: &Request, code: i32, info: &str, fields: Value) -> String {
    let mut body = json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), fields) {
        b.extend(extra);
    }
    reply(req, body)
}

fn reply(req: &Request, body: Value) -> String {
    json!({"head": {"servcmd": req.servcmd, "seq": req.seq}, "body": body}).to_string()
}

/// A server push (no request): the SDK routes it by `servcmd` and the keys of `body`.
pub(crate) fn push(servcmd: &str, body: Value) -> String {
    json!({"head": {"servcmd": servcmd, "seq": 0}, "body": body}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_login_head_and_echoes_servcmd_and_seq() {
        let raw = br#"{"head":{"ver":"v4","sdkappid":1400000001,"identifier":"alice","usersig":"s",
            "a2":"","servcmd":"im_open_status.wslogin","seq":88850614},"body":{"State":"Online"}}"#;
        let r = parse(raw).unwrap();
        assert_eq!(r.servcmd, "im_open_status.wslogin");
        assert_eq!(r.sdk_app_id, Some(1400000001));
        assert_eq!(r.identifier.as_deref(), Some("alice"));
        assert_eq!(r.a2, None, "an empty a2 is no a2");
        let out: Value = serde_json::from_str(&ok(&r, json!({"TinyId": "1"}))).unwrap();
        assert_eq!(
            out["head"],
            json!({"servcmd": "im_open_status.wslogin", "seq": 88850614})
        );
        assert_eq!(out["body"]["ErrorCode"], 0);
        assert_eq!(out["body"]["TinyId"], "1");
        let out: Value = serde_json::from_str(&fail(&r, 60009, "nope", Value::Null)).unwrap();
        assert_eq!(out["body"]["ActionStatus"], "FAIL");
        assert_eq!(out["body"]["ErrorCode"], 60009);
    }

    #[test]
    fn echoes_a_seq_beyond_the_safe_integers_as_the_client_parsed_it() {
        // Found by the vendor_frame fuzz target: without correctly rounded parsing the echoed
        // number came back one ulp off, so a JS client would not match the reply.
        let r = parse(br#"{"head":{"servcmd":"x","seq":444255555555555555755555111110614}}"#).unwrap();
        let out: Value = serde_json::from_str(&ok(&r, Value::Null)).unwrap();
        assert_eq!(out["head"]["seq"].as_f64(), Some(444255555555555555755555111110614.0));
    }

    #[test]
    fn refuses_frames_without_a_matchable_head() {
        assert_eq!(parse(b"\xff\xfe"), Err(EnvelopeError::NotJson));
        assert_eq!(parse(b"[1,2]"), Err(EnvelopeError::NoHead));
        assert_eq!(parse(br#"{"head":{"servcmd":"x"}}"#), Err(EnvelopeError::NoHead));
        assert_eq!(parse(br#"{"head":{"seq":1}}"#), Err(EnvelopeError::NoHead));
    }
}
