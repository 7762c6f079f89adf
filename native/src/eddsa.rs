//! Threshold EdDSA over Ed25519 with ZF FROST (RFC 9591): DKG, signing with any
//! quorum, and share refresh. Signatures are plain Ed25519.

use crate::cbor;
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::session::{Ctx, IncomingMessage, SessionOutput, SessionParams};
use crate::share::{self, Engine, Kind, ShareInfo};
use crate::util::solana_address;
use frost_ed25519 as frost;
use frost::keys::{KeyPackage, PublicKeyPackage};
use frost::Identifier;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const STAGE_DKG: u8 = 1;
const STAGE_SIGN: u8 = 2;
const STAGE_REFRESH: u8 = 3;

pub(crate) fn id_of(party: u16) -> MpcResult<Identifier> {
    Identifier::try_from(party + 1).map_err(|_| MpcError::invalid("bad party index"))
}

fn party_of(id: &Identifier, parties: &[u16]) -> Option<u16> {
    parties.iter().copied().find(|p| id_of(*p).map(|x| x == *id).unwrap_or(false))
}

fn abort(e: frost::Error, parties: &[u16], what: &str) -> MpcError {
    match e.culprits().first().and_then(|id| party_of(id, parties)) {
        Some(p) => MpcError::from_party(ErrorCode::ProtocolAbort, p, format!("{what} aborted by a party")),
        None => MpcError::new(ErrorCode::ProtocolAbort, format!("{what} aborted")),
    }
}

fn malformed(from: u16) -> MpcError {
    MpcError::from_party(ErrorCode::MalformedMessage, from, "cannot decode message")
}

/// Collects one message of `round` from each of `from` (all other parties).
fn collect(ctx: &mut Ctx, stage: u8, round: u16, broadcast: bool, from: &[u16]) -> MpcResult<Vec<IncomingMessage>> {
    let mut got: Vec<IncomingMessage> = Vec::new();
    while got.len() < from.len() {
        let inc = ctx.next_message_in_round(stage, Some((round, &[1, 2])))?;
        if inc.round != round || inc.broadcast != broadcast {
            return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "message for another round"));
        }
        got.push(inc);
    }
    Ok(got)
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct FullBody {
    pub(crate) party_index: u16,
    pub(crate) threshold: u16,
    pub(crate) parties: u16,
    #[serde(with = "serde_bytes")]
    key_package: Vec<u8>,
    #[serde(with = "serde_bytes")]
    public_key_package: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct PublicBody {
    party_index: u16,
    threshold: u16,
    parties: u16,
    #[serde(with = "serde_bytes")]
    public_share: Vec<u8>,
    #[serde(with = "serde_bytes")]
    public_key_package: Vec<u8>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct PrivateBody {
    #[serde(with = "serde_bytes")]
    signing_share: Vec<u8>,
}

fn internal(_: frost::Error) -> MpcError {
    MpcError::internal("FROST encoding failed")
}

pub(crate) fn output(me: u16, n: u16, kp: &KeyPackage, pkp: &PublicKeyPackage) -> MpcResult<SessionOutput> {
    let body = FullBody {
        party_index: me,
        threshold: *kp.min_signers(),
        parties: n,
        key_package: kp.serialize().map_err(internal)?,
        public_key_package: pkp.serialize().map_err(internal)?,
    };
    let bytes = Zeroizing::new(cbor::to_bytes(&body)?);
    let public_key = pkp.verifying_key().serialize().map_err(internal)?;
    Ok(SessionOutput {
        share: Some(Zeroizing::new(share::wrap(Engine::FrostEd25519, Kind::Full, &bytes))),
        address: Some(solana_address(&public_key)),
        public_key: Some(public_key),
        public_share: Some(kp.verifying_share().serialize().map_err(internal)?),
        ..Default::default()
    })
}

fn others(p: &SessionParams) -> Vec<u16> {
    p.parties.iter().copied().filter(|x| *x != p.party_index).collect()
}

pub fn run_keygen(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let me = p.party_index;
    let peers = others(&p);
    ctx.progress(0, 2, "keygen");
    let (r1_secret, r1_pkg) = frost::keys::dkg::part1(id_of(me)?, n, p.threshold, OsRng).map_err(|e| abort(e, &p.parties, "key generation"))?;
    ctx.send(None, STAGE_DKG, 1, r1_pkg.serialize().map_err(internal)?);
    let mut r1 = BTreeMap::new();
    for inc in collect(ctx, STAGE_DKG, 1, true, &peers)? {
        let pkg = frost::keys::dkg::round1::Package::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        r1.insert(id_of(inc.from)?, pkg);
    }
    let (r2_secret, r2_out) = frost::keys::dkg::part2(r1_secret, &r1).map_err(|e| abort(e, &p.parties, "key generation"))?;
    for (id, pkg) in r2_out {
        let to = party_of(&id, &p.parties).ok_or_else(|| MpcError::internal("unknown identifier"))?;
        ctx.send(Some(to), STAGE_DKG, 2, pkg.serialize().map_err(internal)?);
    }
    ctx.progress(1, 2, "keygen");
    let mut r2 = BTreeMap::new();
    for inc in collect(ctx, STAGE_DKG, 2, false, &peers)? {
        let pkg = frost::keys::dkg::round2::Package::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        r2.insert(id_of(inc.from)?, pkg);
    }
    let (kp, pkp) = frost::keys::dkg::part3(&r2_secret, &r1, &r2).map_err(|e| abort(e, &p.parties, "key generation"))?;
    output(me, n, &kp, &pkp)
}

pub(crate) fn load_full(blob: &[u8]) -> MpcResult<(FullBody, KeyPackage, PublicKeyPackage)> {
    let (engine, body) = share::unwrap(blob, Kind::Full)?;
    if engine != Engine::FrostEd25519 {
        return Err(MpcError::new(ErrorCode::UnsupportedShare, "not an EdDSA share"));
    }
    let fb: FullBody = cbor::from_bytes(body, ErrorCode::UnsupportedShare, "key share")?;
    let bad = |_| MpcError::new(ErrorCode::UnsupportedShare, "cannot decode key share");
    let kp = KeyPackage::deserialize(&fb.key_package).map_err(bad)?;
    let pkp = PublicKeyPackage::deserialize(&fb.public_key_package).map_err(bad)?;
    Ok((fb, kp, pkp))
}

pub fn run_sign(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let message = p.message.clone().ok_or_else(|| MpcError::invalid("eddsa-sign needs a message"))?;
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("eddsa-sign needs a key share"))?;
    let (fb, kp, pkp) = load_full(blob)?;
    if fb.party_index != p.party_index {
        return Err(MpcError::invalid("key share belongs to another party"));
    }
    if (p.parties.len() as u16) < fb.threshold || p.parties.iter().any(|x| *x >= fb.parties) {
        return Err(MpcError::invalid("signing parties must be at least threshold keygen indexes"));
    }
    let peers = others(&p);
    ctx.progress(0, 2, "signing");
    let (nonces, commitments) = frost::round1::commit(kp.signing_share(), &mut OsRng);
    ctx.send(None, STAGE_SIGN, 1, commitments.serialize().map_err(internal)?);
    let mut all_commitments = BTreeMap::new();
    all_commitments.insert(*kp.identifier(), commitments);
    for inc in collect(ctx, STAGE_SIGN, 1, true, &peers)? {
        let c = frost::round1::SigningCommitments::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        all_commitments.insert(id_of(inc.from)?, c);
    }
    let package = frost::SigningPackage::new(all_commitments, &message);
    let my_share = frost::round2::sign(&package, &nonces, &kp).map_err(|e| abort(e, &p.parties, "signing"))?;
    drop(nonces);
    ctx.send(None, STAGE_SIGN, 2, my_share.serialize());
    ctx.progress(1, 2, "signing");
    let mut shares = BTreeMap::new();
    shares.insert(*kp.identifier(), my_share);
    for inc in collect(ctx, STAGE_SIGN, 2, true, &peers)? {
        let s = frost::round2::SignatureShare::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        shares.insert(id_of(inc.from)?, s);
    }
    let signature = frost::aggregate(&package, &shares, &pkp).map_err(|e| abort(e, &p.parties, "signing"))?;
    let public_key = pkp.verifying_key().serialize().map_err(internal)?;
    Ok(SessionOutput {
        signature: Some(signature.serialize().map_err(internal)?),
        address: Some(solana_address(&public_key)),
        public_key: Some(public_key),
        ..Default::default()
    })
}

pub fn run_refresh(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let me = p.party_index;
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("eddsa-refresh needs a key share"))?;
    let (fb, kp, pkp) = load_full(blob)?;
    if fb.party_index != me || fb.parties != n || fb.threshold != p.threshold {
        return Err(MpcError::invalid("key share does not match the refresh parameters"));
    }
    let peers = others(&p);
    ctx.progress(0, 2, "refresh");
    let (r1_secret, r1_pkg) = frost::keys::refresh::refresh_dkg_part1(id_of(me)?, n, p.threshold, OsRng)
        .map_err(|e| abort(e, &p.parties, "refresh"))?;
    ctx.send(None, STAGE_REFRESH, 1, r1_pkg.serialize().map_err(internal)?);
    let mut r1 = BTreeMap::new();
    for inc in collect(ctx, STAGE_REFRESH, 1, true, &peers)? {
        let pkg = frost::keys::dkg::round1::Package::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        r1.insert(id_of(inc.from)?, pkg);
    }
    let (r2_secret, r2_out) = frost::keys::refresh::refresh_dkg_part2(r1_secret, &r1).map_err(|e| abort(e, &p.parties, "refresh"))?;
    for (id, pkg) in r2_out {
        let to = party_of(&id, &p.parties).ok_or_else(|| MpcError::internal("unknown identifier"))?;
        ctx.send(Some(to), STAGE_REFRESH, 2, pkg.serialize().map_err(internal)?);
    }
    ctx.progress(1, 2, "refresh");
    let mut r2 = BTreeMap::new();
    for inc in collect(ctx, STAGE_REFRESH, 2, false, &peers)? {
        let pkg = frost::keys::dkg::round2::Package::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?;
        r2.insert(id_of(inc.from)?, pkg);
    }
    let old_key = *pkp.verifying_key();
    let (new_kp, new_pkp) = frost::keys::refresh::refresh_dkg_shares(&r2_secret, &r1, &r2, pkp, kp)
        .map_err(|e| abort(e, &p.parties, "refresh"))?;
    if *new_pkp.verifying_key() != old_key {
        return Err(MpcError::new(ErrorCode::ProtocolAbort, "refresh changed the public key"));
    }
    output(me, n, &new_kp, &new_pkp)
}

pub fn share_info(body: &[u8], kind: Kind) -> MpcResult<ShareInfo> {
    let bad = |_| MpcError::new(ErrorCode::UnsupportedShare, "cannot decode key share");
    let (party_index, threshold, parties, pkp_bytes, public_share) = match kind {
        Kind::Full => {
            let fb: FullBody = cbor::from_bytes(body, ErrorCode::UnsupportedShare, "key share")?;
            let kp = KeyPackage::deserialize(&fb.key_package).map_err(bad)?;
            let vs = kp.verifying_share().serialize().map_err(internal)?;
            (fb.party_index, fb.threshold, fb.parties, fb.public_key_package.clone(), vs)
        }
        _ => {
            let pb: PublicBody = cbor::from_bytes(body, ErrorCode::UnsupportedShare, "public share")?;
            (pb.party_index, pb.threshold, pb.parties, pb.public_key_package, pb.public_share)
        }
    };
    let pkp = PublicKeyPackage::deserialize(&pkp_bytes).map_err(bad)?;
    let public_key = pkp.verifying_key().serialize().map_err(internal)?;
    Ok(ShareInfo {
        engine: Engine::FrostEd25519,
        party_index,
        threshold,
        parties,
        address: solana_address(&public_key),
        public_key,
        public_share,
    })
}

pub fn detach(body: &[u8]) -> MpcResult<(Vec<u8>, Vec<u8>)> {
    let fb: FullBody = cbor::from_bytes(body, ErrorCode::UnsupportedShare, "key share")?;
    let kp = KeyPackage::deserialize(&fb.key_package).map_err(|_| MpcError::new(ErrorCode::UnsupportedShare, "cannot decode key share"))?;
    let public = cbor::to_bytes(&PublicBody {
        party_index: fb.party_index,
        threshold: fb.threshold,
        parties: fb.parties,
        public_share: kp.verifying_share().serialize().map_err(internal)?,
        public_key_package: fb.public_key_package.clone(),
    })?;
    let private = PrivateBody { signing_share: kp.signing_share().serialize() };
    Ok((public, cbor::to_bytes(&private)?))
}

pub fn attach(public: &[u8], private: &[u8]) -> MpcResult<Vec<u8>> {
    let pb: PublicBody = cbor::from_bytes(public, ErrorCode::UnsupportedShare, "public share")?;
    let pr: PrivateBody = cbor::from_bytes(private, ErrorCode::UnsupportedShare, "private share")?;
    let mismatch = || MpcError::new(ErrorCode::ShareMismatch, "private part does not match the public share");
    let signing_share = frost::keys::SigningShare::deserialize(&pr.signing_share).map_err(|_| mismatch())?;
    let verifying_share = frost::keys::VerifyingShare::deserialize(&pb.public_share).map_err(|_| mismatch())?;
    if frost::keys::VerifyingShare::from(signing_share) != verifying_share {
        return Err(mismatch());
    }
    let pkp = PublicKeyPackage::deserialize(&pb.public_key_package).map_err(|_| mismatch())?;
    let id = id_of(pb.party_index)?;
    if pkp.verifying_shares().get(&id) != Some(&verifying_share) {
        return Err(mismatch());
    }
    let kp = KeyPackage::new(id, signing_share, verifying_share, *pkp.verifying_key(), pb.threshold);
    let fb = FullBody {
        party_index: pb.party_index,
        threshold: pb.threshold,
        parties: pb.parties,
        key_package: kp.serialize().map_err(internal)?,
        public_key_package: pb.public_key_package.clone(),
    };
    cbor::to_bytes(&fb)
}
