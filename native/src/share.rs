//! Key share blobs: `"VKS" | format version | engine id | kind | CBOR body`.
//! Full blobs hold secrets; public and private parts come from `detach`.

use crate::error::{ErrorCode, MpcError, MpcResult};
use zeroize::Zeroizing;

pub const SHARE_MAGIC: &[u8; 3] = b"VKS";
pub const SHARE_FORMAT_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Cggmp24Secp256k1 = 1,
    FrostEd25519 = 2,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Cggmp24Secp256k1 => "cggmp24-secp256k1",
            Engine::FrostEd25519 => "frost-ed25519",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Full = 1,
    Public = 2,
    Private = 3,
    /// ECDSA auxiliary data of one party (secret: holds its Paillier primes).
    Aux = 4,
    /// ECDSA key share without auxiliary data (secret: holds the share).
    Incomplete = 5,
}

pub fn wrap(engine: Engine, kind: Kind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + body.len());
    out.extend_from_slice(SHARE_MAGIC);
    out.push(SHARE_FORMAT_VERSION);
    out.push(engine as u8);
    out.push(kind as u8);
    out.extend_from_slice(body);
    out
}

pub fn unwrap(blob: &[u8], kind: Kind) -> MpcResult<(Engine, &[u8])> {
    let bad = |m: &str| MpcError::new(ErrorCode::UnsupportedShare, m);
    if blob.len() < 6 || &blob[0..3] != SHARE_MAGIC {
        return Err(bad("not a key share blob"));
    }
    if blob[3] != SHARE_FORMAT_VERSION {
        return Err(bad("unsupported key share format version"));
    }
    let engine = match blob[4] {
        1 => Engine::Cggmp24Secp256k1,
        2 => Engine::FrostEd25519,
        _ => return Err(bad("unknown engine")),
    };
    if blob[5] != kind as u8 {
        return Err(bad("wrong kind of key share blob"));
    }
    Ok((engine, &blob[6..]))
}

/// Public facts about a share; nothing here is secret.
pub struct ShareInfo {
    pub engine: Engine,
    pub party_index: u16,
    pub threshold: u16,
    pub parties: u16,
    pub public_key: Vec<u8>,
    pub public_share: Vec<u8>,
    pub address: String,
}

pub fn info(blob: &[u8]) -> MpcResult<ShareInfo> {
    let kind = match blob.get(5) {
        Some(1) => Kind::Full,
        Some(2) => Kind::Public,
        _ => return Err(MpcError::new(ErrorCode::UnsupportedShare, "not a full or public share blob")),
    };
    let (engine, body) = unwrap(blob, kind)?;
    match engine {
        Engine::Cggmp24Secp256k1 => crate::ecdsa_share::share_info(body, kind),
        Engine::FrostEd25519 => crate::eddsa::share_info(body, kind),
    }
}

pub fn detach(blob: &[u8]) -> MpcResult<(Vec<u8>, Zeroizing<Vec<u8>>)> {
    let (engine, body) = unwrap(blob, Kind::Full)?;
    let (public, private) = match engine {
        Engine::Cggmp24Secp256k1 => crate::ecdsa_share::detach(body)?,
        Engine::FrostEd25519 => crate::eddsa::detach(body)?,
    };
    Ok((wrap(engine, Kind::Public, &public), Zeroizing::new(wrap(engine, Kind::Private, &private))))
}

pub fn attach(public: &[u8], private: &[u8]) -> MpcResult<Zeroizing<Vec<u8>>> {
    let (engine, public_body) = unwrap(public, Kind::Public)?;
    let (private_engine, private_body) = unwrap(private, Kind::Private)?;
    if engine != private_engine {
        return Err(MpcError::new(ErrorCode::ShareMismatch, "parts belong to different engines"));
    }
    let full = match engine {
        Engine::Cggmp24Secp256k1 => crate::ecdsa_share::attach(public_body, private_body)?,
        Engine::FrostEd25519 => crate::eddsa::attach(public_body, private_body)?,
    };
    Ok(Zeroizing::new(wrap(engine, Kind::Full, &full)))
}
