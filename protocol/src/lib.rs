//! Natter wire protocol, version 1.
//!
//! One WebSocket per client instance carries JSON **text** frames. Every frame is an object with
//! a `type` field; requests carry a client-chosen `id` that the matching reply echoes. Unknown frame
//! types deserialize to `Unknown` so either side can log and ignore them (forward compatibility).
//! `docs/protocol.md` documents every frame with an example.

mod close;
pub mod code;
mod frames;
pub mod header_login;
pub mod identifier;
mod types;

pub use close::CloseCode;
pub use frames::{ClientFrame, ServerFrame, SigLifetime};
pub use types::{KickType, NetState, ParseEnumError, Platform};

/// Protocol version carried in the login frame. The server refuses other versions.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame either side accepts, in bytes. Login frames are the biggest (a UserSig is a
/// few hundred bytes); 16 KiB leaves generous room while bounding server memory per connection.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Path of the WebSocket endpoint on the server. The REST API shares the listener under `/v4/`.
pub const WS_PATH: &str = "/ws";
