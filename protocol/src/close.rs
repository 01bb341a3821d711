/// WebSocket close codes the server uses (private range 4000–4999).
///
/// *Terminal* codes tell the client not to reconnect (its session is over); anything else —
/// including 1001 "going away" on server shutdown and abnormal closes — means "reconnect with
/// backoff". Keeping the two apart is what prevents kick ping-pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// Normal close after a logout.
    LoggedOut,
    /// The session was kicked; a `kicked` frame preceded the close.
    Kicked,
    /// Login refused (bad or expired UserSig, throttled, …); an `error` frame preceded the close.
    AuthFailed,
    /// The peer sent something the protocol does not allow (binary frame, frame before login…).
    ProtocolError,
    /// A frame exceeded [`crate::MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// No valid login arrived within the server's handshake timeout.
    HandshakeTimeout,
    /// The server is shutting down; reconnect later.
    GoingAway,
    /// The client stopped answering (no traffic within the idle timeout); reconnect.
    Idle,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        match self {
            CloseCode::LoggedOut => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Kicked => 4001,
            CloseCode::AuthFailed => 4002,
            CloseCode::ProtocolError => 4003,
            CloseCode::FrameTooLarge => 4004,
            CloseCode::HandshakeTimeout => 4008,
            CloseCode::Idle => 4010,
        }
    }

    pub fn from_code(code: u16) -> Option<CloseCode> {
        Some(match code {
            1000 => CloseCode::LoggedOut,
            1001 => CloseCode::GoingAway,
            4001 => CloseCode::Kicked,
            4002 => CloseCode::AuthFailed,
            4003 => CloseCode::ProtocolError,
            4004 => CloseCode::FrameTooLarge,
            4008 => CloseCode::HandshakeTimeout,
            4010 => CloseCode::Idle,
            _ => return None,
        })
    }

    /// Whether a client seeing this close must not reconnect on its own.
    pub fn is_terminal(self) -> bool {
        matches!(self, CloseCode::LoggedOut | CloseCode::Kicked | CloseCode::AuthFailed)
    }
}
