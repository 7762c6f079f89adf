//! Wire envelope around every protocol message: binds protocol, session, sender,
//! recipient, stage and round, and carries an integrity checksum so a corrupted or
//! re-addressed message is rejected before it reaches the engine. Authenticity
//! between nodes is the transport's job (signed and encrypted per recipient).

use crate::error::{ErrorCode, MpcError, MpcResult};
use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 4] = b"VKM\x01";
pub const BROADCAST: u16 = 0xFFFF;
const HEADER_LEN: usize = 4 + 1 + 32 + 2 + 2 + 1 + 2 + 4;
const CHECKSUM_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub protocol: u8,
    pub session_digest: [u8; 32],
    pub sender: u16,
    pub recipient: u16,
    pub stage: u8,
    pub round: u16,
    pub payload: Vec<u8>,
}

pub fn session_digest(protocol: u8, session_id: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"vaultkeeper-mpc/session/v1");
    h.update([protocol]);
    h.update((session_id.len() as u32).to_be_bytes());
    h.update(session_id);
    h.finalize().into()
}

/// Stable round id for an engine message variant name.
pub fn round_id(variant: &str) -> u16 {
    let d = Sha256::digest(variant.as_bytes());
    u16::from_be_bytes([d[0], d[1]])
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let d = Sha256::digest(bytes);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&d[..CHECKSUM_LEN]);
    out
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.push(self.protocol);
        out.extend_from_slice(&self.session_digest);
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&self.recipient.to_be_bytes());
        out.push(self.stage);
        out.extend_from_slice(&self.round.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// `claimed_sender` is the party the transport says the bytes came from.
    pub fn decode(bytes: &[u8], claimed_sender: u16) -> MpcResult<Envelope> {
        let malformed = |m: &str| MpcError::from_party(ErrorCode::MalformedMessage, claimed_sender, m);
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(malformed("message too short"));
        }
        if &bytes[0..4] != MAGIC {
            return Err(malformed("unknown message format"));
        }
        let body_len = bytes.len() - CHECKSUM_LEN;
        if checksum(&bytes[..body_len]) != bytes[body_len..] {
            return Err(MpcError::from_party(
                ErrorCode::TamperedMessage,
                claimed_sender,
                "message integrity check failed",
            ));
        }
        let u16_at = |o: usize| u16::from_be_bytes([bytes[o], bytes[o + 1]]);
        let protocol = bytes[4];
        let mut session_digest = [0u8; 32];
        session_digest.copy_from_slice(&bytes[5..37]);
        let sender = u16_at(37);
        let recipient = u16_at(39);
        let stage = bytes[41];
        let round = u16_at(42);
        let len = u32::from_be_bytes([bytes[44], bytes[45], bytes[46], bytes[47]]) as usize;
        if HEADER_LEN + len != body_len {
            return Err(malformed("length mismatch"));
        }
        Ok(Envelope {
            protocol,
            session_digest,
            sender,
            recipient,
            stage,
            round,
            payload: bytes[HEADER_LEN..body_len].to_vec(),
        })
    }
}
