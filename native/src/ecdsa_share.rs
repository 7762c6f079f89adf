//! ECDSA key share blobs: public facts, and detach/attach of the private part for backup.
//! Caches that reveal or bloat the Paillier key (CRT parameters, multi-exponentiation tables)
//! never leave in the public part.

use crate::cbor;
use crate::ecdsa::{EcdsaShare, E};
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::session::SessionOutput;
use crate::share::{self, Engine, Kind, ShareInfo};
use crate::util::eth_address;
use cggmp24::generic_ec::Point;
use cggmp24::key_share::AnyKeyShare;
use ciborium::Value;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub(crate) fn share_output(share: &EcdsaShare) -> MpcResult<SessionOutput> {
    let body = Zeroizing::new(cbor::to_bytes(share)?);
    let blob = Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Full, &body));
    let info = share_info(&body, Kind::Full)?;
    Ok(SessionOutput {
        share: Some(blob),
        public_key: Some(info.public_key),
        public_share: Some(info.public_share),
        address: Some(info.address),
        ..Default::default()
    })
}

#[derive(Serialize, Deserialize)]
struct PublicBody {
    #[serde(with = "serde_bytes")]
    public_key: Vec<u8>,
    #[serde(with = "serde_bytes")]
    public_share: Vec<u8>,
    party_index: u16,
    threshold: u16,
    parties: u16,
    /// The engine's share with its secret fields removed.
    share: Value,
}

const SECRET_FIELDS: [&str; 3] = ["x", "p", "q"];

pub(crate) fn info_of(share: &EcdsaShare) -> ShareInfo {
    let i = share.core.i;
    ShareInfo {
        engine: Engine::Cggmp24Secp256k1,
        party_index: i,
        threshold: share.min_signers(),
        parties: share.n(),
        public_key: share.core.shared_public_key.to_bytes(true).as_bytes().to_vec(),
        public_share: share.core.public_shares[i as usize].to_bytes(true).as_bytes().to_vec(),
        address: eth_address(share.core.shared_public_key.to_bytes(false).as_bytes()),
    }
}

pub fn share_info(body: &[u8], kind: Kind) -> MpcResult<ShareInfo> {
    match kind {
        Kind::Full => Ok(info_of(&cbor::from_bytes::<EcdsaShare>(body, ErrorCode::UnsupportedShare, "key share")?)),
        _ => {
            let pb: PublicBody = cbor::from_bytes(body, ErrorCode::UnsupportedShare, "public share")?;
            let uncompressed = k256::PublicKey::from_sec1_bytes(&pb.public_key)
                .map_err(|_| MpcError::new(ErrorCode::UnsupportedShare, "bad public key"))?;
            use k256::elliptic_curve::sec1::ToEncodedPoint;
            Ok(ShareInfo {
                engine: Engine::Cggmp24Secp256k1,
                party_index: pb.party_index,
                threshold: pb.threshold,
                parties: pb.parties,
                address: eth_address(uncompressed.to_encoded_point(false).as_bytes()),
                public_key: pb.public_key,
                public_share: pb.public_share,
            })
        }
    }
}

/// Removes the named fields wherever they occur, remembering their paths.
fn take_secrets(v: &mut Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    if let Value::Map(entries) = v {
        let mut k = 0;
        while k < entries.len() {
            let key = match &entries[k].0 {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            };
            match key {
                Some(name) if SECRET_FIELDS.contains(&name.as_str()) => {
                    let (_, val) = entries.remove(k);
                    let mut p = path.clone();
                    p.push(name);
                    out.push((p, val));
                }
                Some(name) => {
                    path.push(name);
                    take_secrets(&mut entries[k].1, path, out);
                    path.pop();
                    k += 1;
                }
                None => k += 1,
            }
        }
    }
}

fn put_secret(v: &mut Value, path: &[String], secret: Value) -> MpcResult<()> {
    let mismatch = || MpcError::new(ErrorCode::ShareMismatch, "private part does not fit the public part");
    let Value::Map(entries) = v else { return Err(mismatch()) };
    if path.len() == 1 {
        if !SECRET_FIELDS.contains(&path[0].as_str()) || entries.iter().any(|(k, _)| matches!(k, Value::Text(t) if *t == path[0])) {
            return Err(mismatch());
        }
        entries.push((Value::Text(path[0].clone()), secret));
        return Ok(());
    }
    let child = entries
        .iter_mut()
        .find(|(k, _)| matches!(k, Value::Text(t) if *t == path[0]))
        .ok_or_else(mismatch)?;
    put_secret(&mut child.1, &path[1..], secret)
}

pub fn detach(body: &[u8]) -> MpcResult<(Vec<u8>, Vec<u8>)> {
    let share = cbor::from_bytes::<EcdsaShare>(body, ErrorCode::UnsupportedShare, "key share")?;
    let info = info_of(&share);
    let mut dirty = share.into_inner();
    // CRT parameters reveal the Paillier key; they are a cache and never leave in the public part.
    for params in dirty.aux.pedersen_params.iter_mut() {
        params.crt = None;
        params.multiexp = None;
    }
    let mut value = Value::serialized(&dirty).map_err(|_| MpcError::internal("encoding failed"))?;
    drop(dirty);
    let mut secrets = Vec::new();
    take_secrets(&mut value, &mut Vec::new(), &mut secrets);
    if secrets.len() != SECRET_FIELDS.len() {
        return Err(MpcError::internal("unexpected key share layout"));
    }
    let public = cbor::to_bytes(&PublicBody {
        public_key: info.public_key,
        public_share: info.public_share,
        party_index: info.party_index,
        threshold: info.threshold,
        parties: info.parties,
        share: value,
    })?;
    let private = cbor::to_bytes(&secrets)?;
    Ok((public, private))
}

pub fn attach(public: &[u8], private: &[u8]) -> MpcResult<Vec<u8>> {
    let pb: PublicBody = cbor::from_bytes(public, ErrorCode::UnsupportedShare, "public share")?;
    let secrets: Vec<(Vec<String>, Value)> = cbor::from_bytes(private, ErrorCode::UnsupportedShare, "private share")?;
    if secrets.len() != SECRET_FIELDS.len() {
        return Err(MpcError::new(ErrorCode::ShareMismatch, "private part is incomplete"));
    }
    let mut value = pb.share;
    for (path, secret) in secrets {
        if path.is_empty() {
            return Err(MpcError::new(ErrorCode::ShareMismatch, "private part does not fit the public part"));
        }
        put_secret(&mut value, &path, secret)?;
    }
    // Deserializing validates the share: x·G must equal this party's public share and
    // p·q must equal this party's Paillier modulus.
    let share: EcdsaShare = value
        .deserialized()
        .map_err(|_| MpcError::new(ErrorCode::ShareMismatch, "private part does not match the public share"))?;
    let i = share.core.i as usize;
    let expected = Point::<E>::generator() * &share.core.x;
    if i != pb.party_index as usize || *share.core.public_shares[i] != expected
        || share.core.public_shares[i].to_bytes(true).as_bytes() != pb.public_share.as_slice()
    {
        return Err(MpcError::new(ErrorCode::ShareMismatch, "private part does not match the public share"));
    }
    cbor::to_bytes(&share)
}
