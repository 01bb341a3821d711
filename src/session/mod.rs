//! Sans-IO session logic: no sockets, no clocks, no tasks. The driver feeds it API calls,
//! transport events, frames and the current time, and carries out the outputs it returns.

mod backoff;
mod clock;
mod machine;
mod renewal;
mod state;

pub use backoff::{Backoff, Jitter};
pub use clock::{is_plausible_server_ms, local_unix_ms, ServerClock};
pub use machine::{Call, CallOutcome, ConnId, LoginResult, Output, Session, SessionParams, Token};
pub use state::{AppState, LastKick, SessionState};
