//! Typed errors that cross the N-API boundary as values (code + offending party).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    MalformedMessage,
    TamperedMessage,
    WrongSession,
    WrongRound,
    WrongSender,
    WrongRecipient,
    ReplayedMessage,
    ProtocolAbort,
    ShareMismatch,
    UnsupportedShare,
    Cancelled,
    SessionFinished,
    Internal,
    /// A presignature that was already used to issue a partial signature.
    PresignatureUsed,
    /// A presignature, partial signature or share that belongs to another presignature,
    /// keyset, party or quorum.
    PresignatureMismatch,
    /// A presignature or its public data that is corrupted or not in a known format.
    MalformedPresignature,
    /// A partial signature that fails the engine's check against the presignature's public data.
    BadPartial,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::MalformedMessage => "MALFORMED_MESSAGE",
            ErrorCode::TamperedMessage => "TAMPERED_MESSAGE",
            ErrorCode::WrongSession => "WRONG_SESSION",
            ErrorCode::WrongRound => "WRONG_ROUND",
            ErrorCode::WrongSender => "WRONG_SENDER",
            ErrorCode::WrongRecipient => "WRONG_RECIPIENT",
            ErrorCode::ReplayedMessage => "REPLAYED_MESSAGE",
            ErrorCode::ProtocolAbort => "PROTOCOL_ABORT",
            ErrorCode::ShareMismatch => "SHARE_MISMATCH",
            ErrorCode::UnsupportedShare => "UNSUPPORTED_SHARE",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::SessionFinished => "SESSION_FINISHED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::PresignatureUsed => "PRESIGNATURE_USED",
            ErrorCode::PresignatureMismatch => "PRESIGNATURE_MISMATCH",
            ErrorCode::MalformedPresignature => "MALFORMED_PRESIGNATURE",
            ErrorCode::BadPartial => "BAD_PARTIAL",
        }
    }
}

/// An error value. `message` never carries secret material: it is built from
/// static text and party indexes only.
#[derive(Debug, Clone)]
pub struct MpcError {
    pub code: ErrorCode,
    pub party: Option<u16>,
    pub message: String,
}

impl MpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        MpcError { code, party: None, message: message.into() }
    }
    pub fn from_party(code: ErrorCode, party: u16, message: impl Into<String>) -> Self {
        MpcError { code, party: Some(party), message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl fmt::Display for MpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.party {
            Some(p) => write!(f, "{}: {} (party {})", self.code.as_str(), self.message, p),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

pub type MpcResult<T> = Result<T, MpcError>;

/// Engines report blame only through their `Debug` output; pull the first
/// party index out of it. The text holds indexes and message ids, never secrets.
pub fn blamed_party_from_debug(text: &str) -> Option<u16> {
    for key in ["faulty_party: ", "parties: [", "culprit: ", "culprits: ["] {
        if let Some(pos) = text.find(key) {
            let rest = &text[pos + key.len()..];
            let digits: String = rest
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(v) = digits.parse::<u16>() {
                return Some(v);
            }
        }
    }
    None
}
