//! Emergency exit: rebuilds a keyset's full secret key from threshold-many full shares of
//! different parties, with frost-core's `keys::reconstruct` (Lagrange interpolation at zero),
//! and refuses to return it unless its public key is the keyset's group key.
//!
//! EdDSA shares are FROST key packages already. ECDSA (cggmp24) shares are mapped onto
//! frost-secp256k1 key packages at the same evaluation points (`ecdsa::frost_packages`, the
//! mapping share refresh uses), so the same audited interpolation serves both.

use crate::ecdsa;
use crate::eddsa;
use crate::ecdsa_share;
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::share::{self, Engine, Kind};
use crate::util::solana_address;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

pub struct Reconstructed {
    pub engine: Engine,
    /// secp256k1: the 32-byte big-endian private key. Ed25519: the 32-byte little-endian
    /// secret scalar (a DKG key has no seed; see README "Emergency exit").
    pub secret_key: Zeroizing<Vec<u8>>,
    pub public_key: Vec<u8>,
    pub address: String,
}

fn mismatch(m: &str) -> MpcError {
    MpcError::new(ErrorCode::ShareMismatch, m)
}

macro_rules! frost_refusal {
    ($krate:ident) => {
        |e: $krate::Error| match e {
            $krate::Error::IncorrectNumberOfShares => mismatch("fewer shares than the keyset's threshold"),
            $krate::Error::DuplicatedIdentifier => mismatch("two shares of the same party"),
            _ => mismatch("the shares cannot be combined"),
        }
    };
}

/// Rebuilds the full secret key from full share blobs of one keyset (at least its threshold,
/// each of a different party: frost-core refuses a duplicated identifier). Fails unless the rebuilt key's public key is the group key.
pub fn reconstruct(blobs: &[&[u8]]) -> MpcResult<Reconstructed> {
    let first = blobs.first().ok_or_else(|| MpcError::invalid("no shares given"))?;
    let (engine, _) = share::unwrap(first, Kind::Full)?;
    match engine {
        Engine::FrostEd25519 => reconstruct_eddsa(blobs),
        Engine::Cggmp24Secp256k1 => reconstruct_ecdsa(blobs),
    }
}

fn reconstruct_eddsa(blobs: &[&[u8]]) -> MpcResult<Reconstructed> {
    use frost_ed25519 as frost;
    let mut packages = Vec::with_capacity(blobs.len());
    let mut group: Option<frost::VerifyingKey> = None;
    for blob in blobs {
        let (_, kp, pkp) = eddsa::load_full(blob)?;
        let key = *pkp.verifying_key();
        if kp.verifying_key() != &key || group.is_some_and(|g| g != key) {
            return Err(mismatch("the shares belong to different keys"));
        }
        group = Some(key);
        packages.push(kp);
    }
    let group = group.ok_or_else(|| MpcError::invalid("no shares given"))?;
    let signing_key = frost::keys::reconstruct(&packages).map_err(frost_refusal!(frost_ed25519))?;
    if frost::VerifyingKey::from(&signing_key) != group {
        return Err(mismatch("the rebuilt key does not have the keyset's public key"));
    }
    let public_key = group.serialize().map_err(|_| MpcError::internal("encoding failed"))?;
    Ok(Reconstructed {
        engine: Engine::FrostEd25519,
        secret_key: Zeroizing::new(signing_key.serialize()),
        address: solana_address(&public_key),
        public_key,
    })
}

fn reconstruct_ecdsa(blobs: &[&[u8]]) -> MpcResult<Reconstructed> {
    use frost_secp256k1 as fs;
    let mut packages = Vec::with_capacity(blobs.len());
    let mut group: Option<fs::VerifyingKey> = None;
    let mut address = String::new();
    for blob in blobs {
        let share = ecdsa::load_full(blob)?;
        let (kp, pkp) = ecdsa::frost_packages(&share)?;
        let key = *pkp.verifying_key();
        if group.is_some_and(|g| g != key) {
            return Err(mismatch("the shares belong to different keys"));
        }
        group = Some(key);
        address = ecdsa_share::info_of(&share).address;
        packages.push(kp);
    }
    let group = group.ok_or_else(|| MpcError::invalid("no shares given"))?;
    let signing_key = fs::keys::reconstruct(&packages).map_err(frost_refusal!(frost_secp256k1))?;
    if fs::VerifyingKey::from(&signing_key) != group {
        return Err(mismatch("the rebuilt key does not have the keyset's public key"));
    }
    Ok(Reconstructed {
        engine: Engine::Cggmp24Secp256k1,
        secret_key: Zeroizing::new(signing_key.serialize()),
        public_key: group.serialize().map_err(|_| MpcError::internal("encoding failed"))?,
        address,
    })
}

/// Every party's public share, by party index, as held in a full share (the current epoch of
/// each party's share, in the same encoding as `share_info`'s public share).
pub fn group_public_shares(blob: &[u8]) -> MpcResult<Vec<Vec<u8>>> {
    let (engine, _) = share::unwrap(blob, Kind::Full)?;
    match engine {
        Engine::FrostEd25519 => {
            let (body, _, pkp) = eddsa::load_full(blob)?;
            (0..body.parties)
                .map(|k| {
                    let id = frost_ed25519::Identifier::try_from(k + 1).map_err(|_| MpcError::internal("bad party index"))?;
                    let vs = pkp.verifying_shares().get(&id).ok_or_else(|| MpcError::new(ErrorCode::UnsupportedShare, "missing public share"))?;
                    vs.serialize().map_err(|_| MpcError::internal("encoding failed"))
                })
                .collect()
        }
        Engine::Cggmp24Secp256k1 => {
            let share = ecdsa::load_full(blob)?;
            Ok(share.core.public_shares.iter().map(|p| p.to_bytes(true).as_bytes().to_vec()).collect())
        }
    }
}

/// An Ed25519 signature with an exported secret scalar (frost-core's single-party Schnorr
/// signing for the Ed25519 ciphersuite, which plain Ed25519 verifiers accept). Refuses a
/// scalar whose public key is not `public_key`.
pub fn sign_ed25519(secret_scalar: &[u8], public_key: &[u8], message: &[u8]) -> MpcResult<Vec<u8>> {
    use frost_ed25519 as frost;
    let key = frost::SigningKey::deserialize(secret_scalar).map_err(|_| MpcError::invalid("not an Ed25519 secret scalar"))?;
    let public = frost::VerifyingKey::from(&key).serialize().map_err(|_| MpcError::internal("encoding failed"))?;
    if public.as_slice() != public_key {
        return Err(mismatch("the secret scalar does not belong to this public key"));
    }
    key.sign(OsRng, message).serialize().map_err(|_| MpcError::internal("encoding failed"))
}
