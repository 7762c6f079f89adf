//! ECDSA presignatures on the cggmp24 engine.
//!
//! An `ecdsa-presign` session (the interactive part of CGGMP24 signing, run by one quorum before
//! the message is known) leaves every party of the quorum with a secret, single-use
//! presignature and with public data that is the same for all of them. Later, once the message
//! is known, each party issues a partial signature locally (no messages), and whoever holds the
//! public data combines the partials into an ordinary ECDSA signature.
//!
//! The message is always given as its preimage: the engine's `DataToSign::digest::<Keccak256>`
//! hashes it, so a presignature is never applied to a bare digest (cggmp24 forbids that: a
//! digest chosen after the presignature is public allows a forgery). For Ethereum the preimage
//! is the unsigned transaction's signing payload, and the digest is the transaction hash.
//!
//! Blob layout: `"VKP" | format version (1) | kind | body`.
//! - kind 1, presignature (secret): CBOR body, then a 16-byte SHA-256 checksum of everything before.
//! - kind 2, public data: CBOR body, then the same checksum.
//! - kind 3, partial signature (not secret): presignature id (32) | party (u16 BE) | sigma (32).

use crate::ecdsa::{self, abort_error, drive, load_full, EcdsaShare, E};
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::session::{Ctx, SessionOutput, SessionParams};
use crate::util::{eth_address, sub_execution_id};
use crate::cbor;
use cggmp24::generic_ec::{NonZero, Point, Scalar};
use cggmp24::signing::{PresignatureCommitment, PresignaturePublicData};
use cggmp24::{DataToSign, ExecutionId, PartialSignature, Presignature};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

const STAGE_PRESIGN: u8 = 1;
const MAGIC: &[u8; 3] = b"VKP";
const FORMAT_VERSION: u8 = 1;
const KIND_PRESIGNATURE: u8 = 1;
const KIND_PUBLIC: u8 = 2;
const KIND_PARTIAL: u8 = 3;
const HEADER_LEN: usize = 5;
const CHECKSUM_LEN: usize = 16;
const ID_LEN: usize = 32;
const PARTIAL_LEN: usize = HEADER_LEN + ID_LEN + 2 + 32;

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct CommitmentBody {
    #[serde(with = "serde_bytes")]
    tilde_delta: Vec<u8>,
    #[serde(with = "serde_bytes")]
    tilde_s: Vec<u8>,
}

/// Public data of one presignature; identical at every party of its quorum.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct PublicBody {
    #[serde(with = "serde_bytes")]
    id: Vec<u8>,
    /// The quorum (keygen indexes, ascending); commitments are in the same order.
    parties: Vec<u16>,
    /// Keyset public key, compressed SEC1.
    #[serde(with = "serde_bytes")]
    public_key: Vec<u8>,
    /// Digest of the keyset's public key and every public share: changes on refresh.
    #[serde(with = "serde_bytes")]
    keyset: Vec<u8>,
    #[serde(with = "serde_bytes")]
    gamma: Vec<u8>,
    commitments: Vec<CommitmentBody>,
}

/// One party's presignature. The engine's secret scalars are zeroized when dropped;
/// the type has no `Debug`, so it cannot end up in a log line by accident.
#[derive(Serialize, Deserialize)]
struct PresignatureBody {
    party: u16,
    public: PublicBody,
    presignature: Presignature<E>,
}

pub struct PresignatureFacts {
    pub id: Vec<u8>,
    pub party: Option<u16>,
    pub parties: Vec<u16>,
    pub public_key: Vec<u8>,
    pub address: String,
}

pub struct Combined {
    /// r || s, 64 bytes, s in the lower half of the order.
    pub signature: Vec<u8>,
    pub recovery_id: u8,
    /// keccak256(preimage): what was signed.
    pub digest: Vec<u8>,
    pub public_key: Vec<u8>,
    pub address: String,
}

fn malformed(message: &str) -> MpcError {
    MpcError::new(ErrorCode::MalformedPresignature, message)
}

fn mismatch(message: &str) -> MpcError {
    MpcError::new(ErrorCode::PresignatureMismatch, message)
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let d = Sha256::digest(bytes);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&d[..CHECKSUM_LEN]);
    out
}

fn wrap_checked(kind: u8, body: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + body.len() + CHECKSUM_LEN));
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind);
    out.extend_from_slice(body);
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

fn unwrap_checked(blob: &[u8], kind: u8) -> MpcResult<&[u8]> {
    if blob.len() < HEADER_LEN + CHECKSUM_LEN || &blob[0..3] != MAGIC {
        return Err(malformed("not a presignature blob"));
    }
    if blob[3] != FORMAT_VERSION {
        return Err(malformed("unsupported presignature format version"));
    }
    if blob[4] != kind {
        return Err(malformed(if kind == KIND_PRESIGNATURE {
            "expected a presignature, not its public data"
        } else {
            "expected presignature public data"
        }));
    }
    let end = blob.len() - CHECKSUM_LEN;
    if checksum(&blob[..end]) != blob[end..] {
        return Err(malformed("presignature integrity check failed"));
    }
    Ok(&blob[HEADER_LEN..end])
}

fn point_bytes(p: &Point<E>) -> Vec<u8> {
    p.to_bytes(true).as_bytes().to_vec()
}

fn point_from(bytes: &[u8]) -> MpcResult<Point<E>> {
    Point::<E>::from_bytes(bytes).map_err(|_| malformed("bad point in presignature public data"))
}

/// Public id of a presignature: a digest of its public data. Gamma is fresh randomness from
/// every party, so ids do not repeat; all parties of the quorum compute the same id.
fn presignature_id(b: &PublicBody) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"vaultkeeper-mpc/presignature-id/v1");
    h.update((b.parties.len() as u32).to_be_bytes());
    for p in &b.parties {
        h.update(p.to_be_bytes());
    }
    for field in [&b.public_key, &b.keyset, &b.gamma] {
        h.update((field.len() as u32).to_be_bytes());
        h.update(field);
    }
    for c in &b.commitments {
        for field in [&c.tilde_delta, &c.tilde_s] {
            h.update((field.len() as u32).to_be_bytes());
            h.update(field);
        }
    }
    h.finalize().into()
}

/// Digest of the keyset's public key and all public shares. A refresh changes the shares, so a
/// presignature made before a refresh no longer matches a share made after it.
pub(crate) fn keyset_digest(key: &EcdsaShare) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"vaultkeeper-mpc/ecdsa-keyset/v1");
    h.update(key.core.shared_public_key.to_bytes(true).as_bytes());
    for s in key.core.public_shares.iter() {
        h.update(s.to_bytes(true).as_bytes());
    }
    h.finalize().into()
}

fn engine_public(b: &PublicBody) -> MpcResult<PresignaturePublicData<E>> {
    let gamma = NonZero::from_point(point_from(&b.gamma)?).ok_or_else(|| malformed("bad point in presignature public data"))?;
    let commitments = b
        .commitments
        .iter()
        .map(|c| Ok(PresignatureCommitment { tilde_Delta: point_from(&c.tilde_delta)?, tilde_S: point_from(&c.tilde_s)? }))
        .collect::<MpcResult<Vec<_>>>()?;
    Ok(PresignaturePublicData { Gamma: gamma, commitments })
}

/// Checks the body's internal consistency: the id is the digest of the rest, one commitment per
/// party, parties ascending, a valid public key.
fn check_public(b: &PublicBody) -> MpcResult<()> {
    if b.id.len() != ID_LEN || b.id.as_slice() != presignature_id(b).as_slice() {
        return Err(malformed("presignature id does not match its public data"));
    }
    if b.parties.len() < 2 || b.parties.len() != b.commitments.len() || b.parties.windows(2).any(|w| w[0] >= w[1]) {
        return Err(malformed("presignature quorum is inconsistent"));
    }
    point_from(&b.public_key)?;
    Ok(())
}

fn decode_public(blob: &[u8]) -> MpcResult<PublicBody> {
    let body = unwrap_checked(blob, KIND_PUBLIC)?;
    let b: PublicBody = cbor::from_bytes(body, ErrorCode::MalformedPresignature, "presignature public data")?;
    check_public(&b)?;
    Ok(b)
}

fn decode_presignature(blob: &[u8]) -> MpcResult<PresignatureBody> {
    let body = unwrap_checked(blob, KIND_PRESIGNATURE)?;
    let b: PresignatureBody = cbor::from_bytes(body, ErrorCode::MalformedPresignature, "presignature")?;
    check_public(&b.public)?;
    if !b.public.parties.contains(&b.party) || point_bytes(&b.presignature.Gamma) != b.public.gamma {
        return Err(malformed("presignature does not match its public data"));
    }
    Ok(b)
}

fn address_of(public_key: &[u8]) -> MpcResult<String> {
    Ok(eth_address(point_from(public_key)?.to_bytes(false).as_bytes()))
}

/// The interactive phase: three rounds of CGGMP24 signing without a message.
pub fn run_presign(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    if p.message.is_some() {
        return Err(MpcError::invalid("ecdsa-presign takes no message; pass the message preimage to issuePartialSignature"));
    }
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("ecdsa-presign needs a key share"))?;
    let key = load_full(blob)?;
    ecdsa::check_quorum(&key, &p)?;
    let local = ctx.local_index(p.party_index)?;
    let mut rng = OsRng;
    let eid_bytes = sub_execution_id(&p.session_id, "presign");
    let eid = ExecutionId::new(&eid_bytes);
    let parties = p.parties.clone();
    let mut sm = cggmp24::signing(eid, local, &parties, &key).generate_presignature_sync(&mut rng);
    let (presignature, public) = drive(ctx, &mut sm, STAGE_PRESIGN, "presigning", 5 * (parties.len() as u32 - 1))?
        .map_err(|e| abort_error(e, &parties, "presigning"))?;
    drop(sm);
    if public.commitments.len() != parties.len() || presignature.Gamma != public.Gamma {
        return Err(MpcError::internal("engine returned an inconsistent presignature"));
    }
    let mut body = PublicBody {
        id: Vec::new(),
        parties: parties.clone(),
        public_key: point_bytes(&key.core.shared_public_key),
        keyset: keyset_digest(&key).to_vec(),
        gamma: point_bytes(&public.Gamma),
        commitments: public
            .commitments
            .iter()
            .map(|c| CommitmentBody { tilde_delta: point_bytes(&c.tilde_Delta), tilde_s: point_bytes(&c.tilde_S) })
            .collect(),
    };
    let id = presignature_id(&body);
    body.id = id.to_vec();
    let public_blob = wrap_checked(KIND_PUBLIC, &cbor::to_bytes(&body)?).to_vec();
    let address = address_of(&body.public_key)?;
    let public_key = body.public_key.clone();
    let secret = PresignatureBody { party: p.party_index, public: body, presignature };
    let secret_body = Zeroizing::new(cbor::to_bytes(&secret)?);
    drop(secret);
    Ok(SessionOutput {
        presignature: Some(wrap_checked(KIND_PRESIGNATURE, &secret_body)),
        presignature_public: Some(public_blob),
        presignature_id: Some(id.to_vec()),
        parties: Some(parties),
        public_key: Some(public_key),
        address: Some(address),
        ..Default::default()
    })
}

/// Public facts of a presignature (kind 1) or of its public data (kind 2).
pub fn info(blob: &[u8]) -> MpcResult<PresignatureFacts> {
    let (public, party) = match blob.get(4) {
        Some(&KIND_PRESIGNATURE) => {
            let b = decode_presignature(blob)?;
            (b.public.clone(), Some(b.party))
        }
        _ => (decode_public(blob)?, None),
    };
    Ok(PresignatureFacts {
        address: address_of(&public.public_key)?,
        id: public.id,
        party,
        parties: public.parties,
        public_key: public.public_key,
    })
}

/// (presignature id, party) pairs that issued a partial signature in this process.
fn consumed() -> &'static Mutex<HashSet<([u8; ID_LEN], u16)>> {
    static CONSUMED: OnceLock<Mutex<HashSet<([u8; ID_LEN], u16)>>> = OnceLock::new();
    CONSUMED.get_or_init(|| Mutex::new(HashSet::new()))
}

fn data_to_sign(preimage: &[u8]) -> MpcResult<DataToSign<E>> {
    if preimage.is_empty() {
        return Err(MpcError::invalid("the message preimage is empty"));
    }
    Ok(DataToSign::digest::<Keccak256>(preimage))
}

/// The online step, local to one party: a partial signature over keccak256(preimage).
/// The presignature is consumed: a second call with the same presignature in this process is
/// refused, whichever message it carries. With `share`, the presignature must belong to that
/// share's party and key epoch.
pub fn issue_partial(presignature: &[u8], share: Option<&[u8]>, preimage: &[u8]) -> MpcResult<Vec<u8>> {
    let data = data_to_sign(preimage)?;
    let body = decode_presignature(presignature)?;
    if let Some(share) = share {
        let key = load_full(share)?;
        if key.core.i != body.party {
            return Err(mismatch("presignature belongs to another party"));
        }
        if point_bytes(&key.core.shared_public_key) != body.public.public_key {
            return Err(mismatch("presignature belongs to another keyset"));
        }
        if keyset_digest(&key).as_slice() != body.public.keyset.as_slice() {
            return Err(mismatch("presignature was made with shares of another key epoch (before or after a refresh)"));
        }
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&body.public.id);
    {
        let mut used = consumed().lock().unwrap_or_else(|p| p.into_inner());
        if !used.insert((id, body.party)) {
            return Err(MpcError::from_party(ErrorCode::PresignatureUsed, body.party, "presignature was already used"));
        }
    }
    let party = body.party;
    let partial = body.presignature.issue_partial_signature(data);
    let mut out = Vec::with_capacity(PARTIAL_LEN);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(KIND_PARTIAL);
    out.extend_from_slice(&id);
    out.extend_from_slice(&party.to_be_bytes());
    out.extend_from_slice(partial.sigma.to_be_bytes().as_bytes());
    Ok(out)
}

/// Splits a partial signature blob into (presignature id, party, engine partial signature).
fn decode_partial(blob: &[u8]) -> MpcResult<([u8; ID_LEN], u16, PartialSignature<E>)> {
    if blob.len() != PARTIAL_LEN || &blob[0..3] != MAGIC || blob[3] != FORMAT_VERSION || blob[4] != KIND_PARTIAL {
        return Err(MpcError::new(ErrorCode::BadPartial, "not a partial signature"));
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&blob[HEADER_LEN..HEADER_LEN + ID_LEN]);
    let party = u16::from_be_bytes([blob[HEADER_LEN + ID_LEN], blob[HEADER_LEN + ID_LEN + 1]]);
    let sigma = Scalar::<E>::from_be_bytes(&blob[HEADER_LEN + ID_LEN + 2..])
        .map_err(|_| MpcError::from_party(ErrorCode::BadPartial, party, "partial signature is not a valid scalar"))?;
    Ok((id, party, PartialSignature { sigma }))
}

/// Combines one partial signature from each party of the presignature's quorum into an
/// Ethereum-compatible signature over keccak256(preimage), verified before it is returned.
pub fn combine(partials: &[&[u8]], preimage: &[u8], public_data: &[u8]) -> MpcResult<Combined> {
    let data = data_to_sign(preimage)?;
    let body = decode_public(public_data)?;
    let public = engine_public(&body)?;
    if partials.len() != body.parties.len() {
        return Err(MpcError::invalid("combining takes one partial signature from each party of the presignature's quorum"));
    }
    let mut ordered: Vec<Option<PartialSignature<E>>> = vec![None; body.parties.len()];
    for blob in partials {
        let (id, party, partial) = decode_partial(blob)?;
        if id.as_slice() != body.id.as_slice() {
            return Err(MpcError::from_party(ErrorCode::PresignatureMismatch, party, "partial signature is for another presignature"));
        }
        let pos = body
            .parties
            .iter()
            .position(|p| *p == party)
            .ok_or_else(|| MpcError::from_party(ErrorCode::PresignatureMismatch, party, "party is not in the presignature's quorum"))?;
        let slot = ordered.get_mut(pos).ok_or_else(|| MpcError::internal("quorum position"))?;
        if slot.is_some() {
            return Err(MpcError::from_party(ErrorCode::InvalidArgument, party, "two partial signatures from the same party"));
        }
        *slot = Some(partial);
    }
    let ordered = ordered.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| MpcError::invalid("a party's partial signature is missing"))?;
    // Blame: the engine's own check (sigma_j * Gamma against party j's commitments) run on each
    // partial alone, with the public data cut down to that party's commitment.
    for (pos, partial) in ordered.iter().enumerate() {
        let commitment = public.commitments.get(pos).cloned().ok_or_else(|| MpcError::internal("commitment position"))?;
        let one = PresignaturePublicData { Gamma: public.Gamma, commitments: vec![commitment] };
        if PartialSignature::combine(&[*partial], &one, data).is_none() {
            let party = body.parties.get(pos).copied().unwrap_or_default();
            return Err(MpcError::from_party(ErrorCode::BadPartial, party, "partial signature does not match the presignature"));
        }
    }
    let sig = PartialSignature::combine(&ordered, &public, data)
        .ok_or_else(|| MpcError::new(ErrorCode::ProtocolAbort, "partial signatures do not combine"))?;
    let pk = point_from(&body.public_key)?;
    sig.verify(&pk, &data).map_err(|_| MpcError::new(ErrorCode::ProtocolAbort, "combined signature does not verify"))?;

    let digest: [u8; 32] = Keccak256::digest(preimage).into();
    let r: [u8; 32] = sig.r.to_be_bytes().as_bytes().try_into().map_err(|_| MpcError::internal("r size"))?;
    let s: [u8; 32] = sig.s.to_be_bytes().as_bytes().try_into().map_err(|_| MpcError::internal("s size"))?;
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&body.public_key).map_err(|_| MpcError::internal("public key"))?;
    let ksig = k256::ecdsa::Signature::from_scalars(r, s).map_err(|_| MpcError::internal("signature encoding"))?;
    let recid = k256::ecdsa::RecoveryId::trial_recovery_from_prehash(&vk, &digest, &ksig)
        .map_err(|_| MpcError::new(ErrorCode::ProtocolAbort, "combined signature does not verify"))?;
    let mut signature = Vec::with_capacity(64);
    signature.extend_from_slice(&r);
    signature.extend_from_slice(&s);
    Ok(Combined {
        signature,
        recovery_id: recid.to_byte(),
        digest: digest.to_vec(),
        address: address_of(&body.public_key)?,
        public_key: body.public_key,
    })
}
