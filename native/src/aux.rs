//! CGGMP24 auxiliary data (Paillier keys and ring-Pedersen parameters with their proofs) as
//! its own step: generated once per group of signers, sealed by the caller, and attached to
//! every key that group generates afterwards (the engine's documentation allows reusing it for
//! several keys of a fixed group; see README.md). Also: key generation without auxiliary data
//! (an incomplete share), completing a share with stored auxiliary data, refreshing the secret
//! shares alone (keeping or swapping the auxiliary data), and the signing precomputation.

use crate::cbor;
use crate::ecdsa::{self, load_full, EcdsaShare, E, L};
use crate::ecdsa_share::share_output;
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::session::{Ctx, SessionOutput, SessionParams};
use crate::share::{self, Engine, Kind};
use crate::util::{eth_address, sub_execution_id};
use cggmp24::key_share::{AnyKeyShare, AuxInfo, DirtyAuxInfo, Validate};
use cggmp24::{ExecutionId, IncompleteKeyShare};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const STAGE_AUX_ONLY: u8 = 7;
const STAGE_DKG_ONLY: u8 = 8;
const AUX_ID_DOMAIN: &[u8] = b"vaultkeeper/cggmp24-aux/v1";

/// This party's auxiliary data and its index in the group it was generated for.
#[derive(Serialize, Deserialize)]
struct AuxBody {
    party_index: u16,
    aux: AuxInfo<L>,
}

/// The public part every party of the group holds identically; its hash is the aux id.
#[derive(Serialize)]
struct AuxPublic<'a> {
    n: &'a [cggmp24::backend::Integer],
    pedersen: Vec<(&'a cggmp24::backend::Integer, &'a cggmp24::backend::Integer, &'a cggmp24::backend::Integer)>,
}

/// The same for every party of the group that ran the aux session together; differs otherwise.
pub fn aux_id(aux: &DirtyAuxInfo<L>) -> MpcResult<Vec<u8>> {
    let public = AuxPublic { n: &aux.N, pedersen: aux.pedersen_params.iter().map(|p| (&p.hat_N, &p.s, &p.t)).collect() };
    let mut h = Sha256::new();
    h.update(AUX_ID_DOMAIN);
    h.update(cbor::to_bytes(&public)?);
    Ok(h.finalize().to_vec())
}

fn wrap_aux(party_index: u16, aux: AuxInfo<L>) -> MpcResult<(Zeroizing<Vec<u8>>, Vec<u8>)> {
    let id = aux_id(&aux)?;
    let body = Zeroizing::new(cbor::to_bytes(&AuxBody { party_index, aux })?);
    Ok((Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Aux, &body)), id))
}

fn load_aux(blob: &[u8]) -> MpcResult<AuxBody> {
    let (engine, body) = share::unwrap(blob, Kind::Aux)?;
    if engine != Engine::Cggmp24Secp256k1 {
        return Err(MpcError::new(ErrorCode::UnsupportedShare, "not ECDSA auxiliary data"));
    }
    cbor::from_bytes::<AuxBody>(body, ErrorCode::UnsupportedShare, "auxiliary data")
}

fn load_incomplete(blob: &[u8]) -> MpcResult<IncompleteKeyShare<E>> {
    let (engine, body) = share::unwrap(blob, Kind::Incomplete)?;
    if engine != Engine::Cggmp24Secp256k1 {
        return Err(MpcError::new(ErrorCode::UnsupportedShare, "not an ECDSA incomplete share"));
    }
    cbor::from_bytes::<IncompleteKeyShare<E>>(body, ErrorCode::UnsupportedShare, "incomplete key share")
}

/// Joins a key's share with auxiliary data of the same party in a group of the same size;
/// the engine validates the result (p·q equals this party's Paillier modulus).
fn complete(incomplete: IncompleteKeyShare<E>, aux: AuxBody) -> MpcResult<EcdsaShare> {
    let mismatch = |m: &str| MpcError::new(ErrorCode::ShareMismatch, m);
    if aux.party_index != incomplete.i {
        return Err(mismatch("auxiliary data belongs to another party index"));
    }
    if aux.aux.N.len() != incomplete.public_shares.len() {
        return Err(mismatch("auxiliary data was made for a group of another size"));
    }
    EcdsaShare::from_parts((incomplete, aux.aux)).map_err(|_| mismatch("auxiliary data does not fit this key share"))
}

/// `ecdsa-aux`: auxiliary data generation for parties 0..n-1 (primes pregenerated or searched here).
pub fn run_aux_gen(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let primes = ecdsa::primes_for(ctx, p.primes.clone())?;
    let aux = ecdsa::run_aux(ctx, STAGE_AUX_ONLY, &p.session_id, p.party_index, n, primes)?;
    let (blob, id) = wrap_aux(p.party_index, aux)?;
    Ok(SessionOutput { aux: Some(blob), aux_id: Some(id), ..Default::default() })
}

/// `ecdsa-dkg`: distributed key generation only. With `aux` (this party's stored auxiliary
/// data) the output is a full key share; without it, an incomplete share to complete later.
pub fn run_dkg(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let me = p.party_index;
    // Checked before any message leaves: a mismatched aux blob never costs the others a run.
    let aux = match p.aux.as_ref() {
        Some(blob) => {
            let aux = load_aux(blob)?;
            if aux.party_index != me || aux.aux.N.len() != n as usize {
                return Err(MpcError::new(ErrorCode::ShareMismatch, "auxiliary data was made for another party index or group size"));
            }
            Some(aux)
        }
        None => None,
    };
    let mut rng = OsRng;
    let eid_bytes = sub_execution_id(&p.session_id, "keygen");
    let eid = ExecutionId::new(&eid_bytes);
    let mut sm = cggmp24::keygen::<E>(eid, me, n).set_threshold(p.threshold).into_state_machine(&mut rng);
    let parties = ctx.parties.clone();
    let incomplete = ecdsa::drive(ctx, &mut sm, STAGE_DKG_ONLY, "keygen", 3 * (n as u32 - 1) + 1)?
        .map_err(|e| ecdsa::abort_error(e, &parties, "key generation"))?;
    drop(sm);
    match aux {
        Some(aux) => share_output(&complete(incomplete, aux)?),
        None => incomplete_output(&incomplete),
    }
}

fn incomplete_output(incomplete: &IncompleteKeyShare<E>) -> MpcResult<SessionOutput> {
    let body = Zeroizing::new(cbor::to_bytes(incomplete)?);
    let blob = Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Incomplete, &body));
    Ok(SessionOutput {
        share: Some(blob),
        public_key: Some(incomplete.shared_public_key.to_bytes(true).as_bytes().to_vec()),
        public_share: Some(incomplete.public_shares[incomplete.i as usize].to_bytes(true).as_bytes().to_vec()),
        address: Some(eth_address(incomplete.shared_public_key.to_bytes(false).as_bytes())),
        ..Default::default()
    })
}

/// `ecdsa-refresh-shares`: re-randomizes the secret shares (same group key) and keeps this
/// party's auxiliary data, or attaches `aux` (auxiliary data generated for the group since).
pub fn run_refresh_shares(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let replacement = match p.aux.as_ref() {
        Some(blob) => Some(load_aux(blob)?),
        None => None,
    };
    let (incomplete, old_aux) = ecdsa::refresh_core(ctx, &p)?;
    let aux = match replacement {
        Some(aux) => aux,
        None => AuxBody { party_index: incomplete.i, aux: old_aux },
    };
    share_output(&complete(incomplete, aux)?)
}

/// Full share from an incomplete share and this party's auxiliary data.
pub fn complete_share(incomplete: &[u8], aux: &[u8]) -> MpcResult<Zeroizing<Vec<u8>>> {
    let share = complete(load_incomplete(incomplete)?, load_aux(aux)?)?;
    Ok(Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Full, &Zeroizing::new(cbor::to_bytes(&share)?))))
}

/// The same key share with other auxiliary data of the same party and group size.
pub fn replace_aux(full: &[u8], aux: &[u8]) -> MpcResult<Zeroizing<Vec<u8>>> {
    let dirty = load_full(full)?.into_inner();
    let incomplete = dirty.core.validate().map_err(|_| MpcError::new(ErrorCode::UnsupportedShare, "key share does not validate"))?;
    drop(dirty.aux);
    complete_share_parts(incomplete, load_aux(aux)?)
}

fn complete_share_parts(incomplete: IncompleteKeyShare<E>, aux: AuxBody) -> MpcResult<Zeroizing<Vec<u8>>> {
    let share = complete(incomplete, aux)?;
    Ok(Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Full, &Zeroizing::new(cbor::to_bytes(&share)?))))
}

/// Public facts about an aux blob or about the aux data inside a full share.
pub struct AuxFacts {
    pub party_index: u16,
    pub parties: u16,
    pub aux_id: Vec<u8>,
}

pub fn aux_facts(blob: &[u8]) -> MpcResult<AuxFacts> {
    match blob.get(5) {
        Some(k) if *k == Kind::Aux as u8 => {
            let a = load_aux(blob)?;
            Ok(AuxFacts { party_index: a.party_index, parties: a.aux.N.len() as u16, aux_id: aux_id(&a.aux)? })
        }
        Some(k) if *k == Kind::Full as u8 => {
            let s = load_full(blob)?;
            Ok(AuxFacts { party_index: s.core.i, parties: s.n(), aux_id: aux_id(&s.aux)? })
        }
        _ => Err(MpcError::new(ErrorCode::UnsupportedShare, "not auxiliary data or a full ECDSA share")),
    }
}

/// The engine's signing precomputation: multi-exponentiation tables for every party's
/// ring-Pedersen parameters. (Its CRT data needs p·q = N̂, the ring-Pedersen modulus; the aux
/// data here has N̂ from a second pair of primes that is not kept, so there is none to build.)
/// The result is a full share for this process's memory only: larger, and never to be sealed or
/// backed up as is (`detach` strips the tables).
pub fn precompute(full: &[u8]) -> MpcResult<Zeroizing<Vec<u8>>> {
    let mut dirty = load_full(full)?.into_inner();
    dirty.aux.precompute_multiexp_tables().map_err(|_| MpcError::internal("cannot build multi-exponentiation tables"))?;
    let share = dirty.validate().map_err(|_| MpcError::internal("precomputed share does not validate"))?;
    Ok(Zeroizing::new(share::wrap(Engine::Cggmp24Secp256k1, Kind::Full, &Zeroizing::new(cbor::to_bytes(&share)?))))
}
