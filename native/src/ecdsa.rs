//! Threshold ECDSA over secp256k1 on the cggmp24 engine (CGGMP24, Kudelski-audited
//! lineage). Share refresh re-randomizes the Shamir shares with ZF FROST's refresh DKG
//! over secp256k1 (a Feldman-verified sharing of zero at the same evaluation points,
//! 1..=n) and then regenerates every party's Paillier/ring-Pedersen aux data.

use crate::cbor;
use crate::envelope::round_id;
use crate::error::{blamed_party_from_debug, ErrorCode, MpcError, MpcResult};
use crate::session::{Ctx, SessionOutput, SessionParams};
use crate::share::{self, Engine, Kind};
use crate::util::{eth_address, sub_execution_id};
use cggmp24::generic_ec::{NonZero, Point, Scalar, SecretScalar};
use cggmp24::round_based::state_machine::{ProceedResult, StateMachine};
use cggmp24::round_based::{Incoming, MessageDestination, MessageType};
use cggmp24::security_level::{SecurityLevel, SecurityLevel128};
use cggmp24::supported_curves::Secp256k1;
use cggmp24::key_share::{AnyKeyShare, Validate};
use cggmp24::{ExecutionId, KeyShare, PregeneratedPrimes};
use rand::rngs::OsRng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

pub(crate) type E = Secp256k1;
pub(crate) type L = SecurityLevel128;
pub(crate) type EcdsaShare = KeyShare<E, L>;

const STAGE_PRIMES: u8 = 0;
const STAGE_KEYGEN: u8 = 1;
const STAGE_AUX: u8 = 2;
const STAGE_SIGN: u8 = 3;
const STAGE_ZERO_SHARING_1: u8 = 4;
const STAGE_ZERO_SHARING_2: u8 = 5;
// Stages only ever increase within a session: a party that is ahead may send messages
// for its next stage, and those wait in the queue; an earlier stage is refused as stale.
const STAGE_REFRESH_AUX: u8 = 6;

pub(crate) fn abort_error<Err: std::fmt::Debug>(err: Err, parties: &[u16], what: &str) -> MpcError {
    let text = format!("{err:?}");
    match blamed_party_from_debug(&text).and_then(|local| parties.get(local as usize).copied()) {
        Some(party) => MpcError::from_party(ErrorCode::ProtocolAbort, party, format!("{what} aborted by a party")),
        None => MpcError::new(ErrorCode::ProtocolAbort, format!("{what} aborted")),
    }
}

/// Runs one engine state machine to completion, translating messages to envelopes.
pub(crate) fn drive<SM, M, O>(ctx: &mut Ctx, sm: &mut SM, stage: u8, label: &'static str, expected: u32) -> MpcResult<O>
where
    SM: StateMachine<Msg = M, Output = O>,
    M: Serialize + DeserializeOwned,
{
    let mut received: u32 = 0;
    let mut next_id: u64 = 0;
    ctx.progress(0, expected, label);
    loop {
        match sm.proceed() {
            ProceedResult::SendMsg(out) => {
                let (name, bytes) = cbor::encode_message(&out.msg)?;
                let to = match out.recipient {
                    MessageDestination::AllParties => None,
                    MessageDestination::OneParty(j) => Some(
                        *ctx.parties.get(j as usize).ok_or_else(|| MpcError::internal("engine addressed an unknown party"))?,
                    ),
                };
                ctx.send(to, stage, round_id(&name), bytes);
            }
            ProceedResult::NeedsOneMoreMessage => {
                let inc = ctx.next_message(stage)?;
                let (name, msg) = cbor::decode_message::<M>(&inc.payload, inc.from)?;
                if round_id(&name) != inc.round {
                    return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "message round does not match its content"));
                }
                let sender = ctx.local_index(inc.from)?;
                next_id += 1;
                let msg_type = if inc.broadcast { MessageType::Broadcast } else { MessageType::P2P };
                if sm.received_msg(Incoming { id: next_id, sender, msg_type, msg }).is_err() {
                    return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "message not expected now"));
                }
                received += 1;
                ctx.progress(received.min(expected), expected, label);
            }
            ProceedResult::Output(o) => return Ok(o),
            ProceedResult::Yielded => ctx.check_cancelled()?,
            ProceedResult::Error(_) => {
                // The state machine refuses a message it cannot place (wrong round or type).
                return Err(MpcError::new(ErrorCode::ProtocolAbort, "engine rejected the message flow"));
            }
        }
    }
}

/// Sets the flag when dropped, so prime workers stop on every way out of `generate_primes`.
struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Generates the four safe primes one party needs, with the engine's own generator, on up to
/// four worker threads (one per available core). `cancelled(k)` is polled while the k-th prime
/// is awaited; on cancellation this returns at once, and the workers stop after the prime they
/// are working on (the engine's generator cannot be interrupted) and drop it.
pub fn generate_primes(mut cancelled: impl FnMut(u32) -> bool) -> MpcResult<Zeroizing<Vec<u8>>> {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;
    const COUNT: u32 = 4;
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, COUNT as usize);
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_guard = StopOnDrop(stop.clone());
    let claimed = Arc::new(AtomicU32::new(0));
    let (tx, rx) = mpsc::channel::<cggmp24::backend::Integer>();
    for _ in 0..workers {
        let (stop, claimed, tx) = (stop.clone(), claimed.clone(), tx.clone());
        std::thread::Builder::new()
            .name("vk-safe-primes".into())
            .spawn(move || {
                // The search draws random bits for every candidate; a ChaCha20 generator seeded
                // from the OS keeps that out of a getrandom system call per draw.
                let Ok(mut rng) = ChaCha20Rng::from_rng(OsRng) else { return };
                while !stop.load(Ordering::Relaxed) && claimed.fetch_add(1, Ordering::Relaxed) < COUNT {
                    let prime = cggmp24::backend::Integer::generate_safe_prime(&mut rng, L::RSA_PRIME_BITLEN);
                    if stop.load(Ordering::Relaxed) || tx.send(prime).is_err() {
                        break;
                    }
                }
            })
            .map_err(|_| MpcError::internal("cannot start prime generation"))?;
    }
    drop(tx);
    let cancel = || MpcError::new(ErrorCode::Cancelled, "prime generation cancelled");
    let mut primes = Vec::with_capacity(COUNT as usize);
    for k in 0..COUNT {
        loop {
            if cancelled(k) {
                return Err(cancel());
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(prime) => {
                    primes.push(prime);
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(MpcError::internal("prime generation stopped")),
            }
        }
    }
    let arr: [cggmp24::backend::Integer; 4] = primes.try_into().map_err(|_| MpcError::internal("prime count"))?;
    let pre = PregeneratedPrimes::<L>::try_from(arr).map_err(|_| MpcError::internal("generated primes too small"))?;
    Ok(Zeroizing::new(cbor::to_bytes(&pre)?))
}

pub(crate) fn primes_for(ctx: &mut Ctx, given: Option<Zeroizing<Vec<u8>>>) -> MpcResult<PregeneratedPrimes<L>> {
    let bytes = match given {
        Some(b) => b,
        None => {
            ctx.progress(0, 4, "generating-primes");
            let shared_ctx = &*ctx;
            generate_primes(|k| {
                shared_ctx.progress(k, 4, "generating-primes");
                shared_ctx.check_cancelled().is_err()
            })?
        }
    };
    cbor::from_bytes::<PregeneratedPrimes<L>>(&bytes, ErrorCode::InvalidArgument, "primes")
}

pub(crate) fn run_aux(ctx: &mut Ctx, stage: u8, sid: &[u8], me: u16, n: u16, primes: PregeneratedPrimes<L>) -> MpcResult<cggmp24::key_share::AuxInfo<L>> {
    let mut rng = OsRng;
    let eid_bytes = sub_execution_id(sid, "aux");
    let eid = ExecutionId::new(&eid_bytes);
    let mut sm = cggmp24::aux_info_gen(eid, me, n, primes).into_state_machine(&mut rng);
    let parties = ctx.parties.clone();
    drive(ctx, &mut sm, stage, "aux-info", 3 * (n as u32 - 1))?.map_err(|e| abort_error(e, &parties, "aux info generation"))
}

pub fn run_keygen(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let me = p.party_index;
    let primes = primes_for(ctx, p.primes.clone())?;
    let _ = STAGE_PRIMES;
    let mut rng = OsRng;
    let eid_bytes = sub_execution_id(&p.session_id, "keygen");
    let eid = ExecutionId::new(&eid_bytes);
    let mut sm = cggmp24::keygen::<E>(eid, me, n).set_threshold(p.threshold).into_state_machine(&mut rng);
    let parties = ctx.parties.clone();
    let incomplete = drive(ctx, &mut sm, STAGE_KEYGEN, "keygen", 3 * (n as u32 - 1) + 1)?
        .map_err(|e| abort_error(e, &parties, "key generation"))?;
    drop(sm);
    let aux = run_aux(ctx, STAGE_AUX, &p.session_id, me, n, primes)?;
    let share = EcdsaShare::from_parts((incomplete, aux)).map_err(|_| MpcError::internal("key share does not validate"))?;
    share_output(&share)
}

fn to_digest(message: &Option<Vec<u8>>) -> MpcResult<[u8; 32]> {
    let m = message.as_ref().ok_or_else(|| MpcError::invalid("ecdsa-sign needs a 32-byte digest"))?;
    m.as_slice().try_into().map_err(|_| MpcError::invalid("ecdsa-sign needs a 32-byte digest"))
}

pub(crate) fn load_full(blob: &[u8]) -> MpcResult<EcdsaShare> {
    let (engine, body) = share::unwrap(blob, Kind::Full)?;
    if engine != Engine::Cggmp24Secp256k1 {
        return Err(MpcError::new(ErrorCode::UnsupportedShare, "not an ECDSA share"));
    }
    cbor::from_bytes::<EcdsaShare>(body, ErrorCode::UnsupportedShare, "key share")
}

/// The share must be this party's, and the parties exactly `threshold` ascending keygen indexes.
pub(crate) fn check_quorum(key: &EcdsaShare, p: &SessionParams) -> MpcResult<()> {
    if key.core.i != p.party_index {
        return Err(MpcError::invalid("key share belongs to another party"));
    }
    if p.parties.len() as u16 != key.min_signers() {
        return Err(MpcError::invalid("signing takes exactly threshold parties"));
    }
    if p.parties.windows(2).any(|w| w[0] >= w[1]) || p.parties.iter().any(|x| *x >= key.n()) {
        return Err(MpcError::invalid("signing parties must be ascending keygen indexes"));
    }
    Ok(())
}

pub fn run_sign(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let digest = to_digest(&p.message)?;
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("ecdsa-sign needs a key share"))?;
    let key = load_full(blob)?;
    check_quorum(&key, &p)?;
    let local = ctx.local_index(p.party_index)?;
    let scalar = Scalar::<E>::from_be_bytes_mod_order(digest);
    let data = cggmp24::PrehashedDataToSign::from_scalar(scalar);
    let mut rng = OsRng;
    let eid_bytes = sub_execution_id(&p.session_id, "sign");
    let eid = ExecutionId::new(&eid_bytes);
    let parties = p.parties.clone();
    let mut sm = cggmp24::signing(eid, local, &parties, &key).sign_sync(&mut rng, &data);
    let sig = drive(ctx, &mut sm, STAGE_SIGN, "signing", 4 * (parties.len() as u32 - 1))?
        .map_err(|e| abort_error(e, &parties, "signing"))?
        .normalize_s();
    drop(sm);
    let r: [u8; 32] = sig.r.to_be_bytes().as_bytes().try_into().map_err(|_| MpcError::internal("r size"))?;
    let s: [u8; 32] = sig.s.to_be_bytes().as_bytes().try_into().map_err(|_| MpcError::internal("s size"))?;
    let pk = key.core.shared_public_key.to_bytes(true);
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(pk.as_bytes()).map_err(|_| MpcError::internal("public key"))?;
    let ksig = k256::ecdsa::Signature::from_scalars(r, s).map_err(|_| MpcError::internal("signature encoding"))?;
    let recid = k256::ecdsa::RecoveryId::trial_recovery_from_prehash(&vk, &digest, &ksig)
        .map_err(|_| MpcError::new(ErrorCode::ProtocolAbort, "signature does not verify"))?;
    let mut signature = Vec::with_capacity(64);
    signature.extend_from_slice(&r);
    signature.extend_from_slice(&s);
    Ok(SessionOutput {
        signature: Some(signature),
        recovery_id: Some(recid.to_byte()),
        public_key: Some(pk.as_bytes().to_vec()),
        address: Some(eth_address(key.core.shared_public_key.to_bytes(false).as_bytes())),
        ..Default::default()
    })
}

pub fn run_refresh(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let n = p.check_full_parties()?;
    let primes = primes_for(ctx, p.primes.clone())?;
    let (incomplete, _old_aux) = refresh_core(ctx, &p)?;
    // New Paillier / ring-Pedersen parameters for every party.
    let aux = run_aux(ctx, STAGE_REFRESH_AUX, &p.session_id, p.party_index, n, primes)?;
    let share = EcdsaShare::from_parts((incomplete, aux)).map_err(|_| MpcError::internal("key share does not validate"))?;
    share_output(&share)
}

/// Re-randomizes this party's secret share with the others (same group key) and returns it
/// without auxiliary data, with the auxiliary data it had.
pub(crate) fn refresh_core(ctx: &mut Ctx, p: &SessionParams) -> MpcResult<(cggmp24::IncompleteKeyShare<E>, cggmp24::key_share::AuxInfo<L>)> {
    use frost_secp256k1 as fs;
    let n = p.check_full_parties()?;
    let me = p.party_index;
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("ecdsa-refresh needs a key share"))?;
    let old = load_full(blob)?;
    if old.core.i != me || old.n() != n || old.min_signers() != p.threshold {
        return Err(MpcError::invalid("key share does not match the refresh parameters"));
    }
    let id_of = |k: u16| fs::Identifier::try_from(k + 1).map_err(conversion_failed);
    let (old_kp, old_pkp) = frost_packages(&old)?;
    let verifying_key = *old_pkp.verifying_key();
    let my_id = id_of(me)?;

    // Round 1: commitments to a random polynomial with zero constant term (broadcast).
    ctx.progress(0, 2, "refresh-shares");
    let (r1_secret, r1_pkg) = fs::keys::refresh::refresh_dkg_part1(my_id, n, p.threshold, OsRng)
        .map_err(|_| MpcError::internal("refresh round 1 failed"))?;
    ctx.send(None, STAGE_ZERO_SHARING_1, 1, r1_pkg.serialize().map_err(conversion_failed)?);
    let mut r1_pkgs = BTreeMap::new();
    while r1_pkgs.len() < (n - 1) as usize {
        let inc = ctx.next_message_in_round(STAGE_ZERO_SHARING_1, Some((1, &[1])))?;
        if inc.round != 1 || !inc.broadcast {
            return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "unexpected refresh message"));
        }
        let pkg = fs::keys::dkg::round1::Package::deserialize(&inc.payload)
            .map_err(|_| MpcError::from_party(ErrorCode::MalformedMessage, inc.from, "cannot decode message"))?;
        r1_pkgs.insert(id_of(inc.from)?, pkg);
    }
    let (r2_secret, r2_out) = fs::keys::refresh::refresh_dkg_part2(r1_secret, &r1_pkgs)
        .map_err(|e| frost_abort_secp(e, "share refresh"))?;
    for (id, pkg) in r2_out {
        let to = (0..n).find(|k| id_of(*k).map(|x| x == id).unwrap_or(false)).ok_or_else(|| MpcError::internal("unknown id"))?;
        ctx.send(Some(to), STAGE_ZERO_SHARING_2, 2, pkg.serialize().map_err(conversion_failed)?);
    }
    ctx.progress(1, 2, "refresh-shares");
    let mut r2_pkgs = BTreeMap::new();
    while r2_pkgs.len() < (n - 1) as usize {
        let inc = ctx.next_message_in_round(STAGE_ZERO_SHARING_2, Some((2, &[2])))?;
        if inc.round != 2 || inc.broadcast {
            return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "unexpected refresh message"));
        }
        let pkg = fs::keys::dkg::round2::Package::deserialize(&inc.payload)
            .map_err(|_| MpcError::from_party(ErrorCode::MalformedMessage, inc.from, "cannot decode message"))?;
        r2_pkgs.insert(id_of(inc.from)?, pkg);
    }
    let (new_kp, new_pkp) = fs::keys::refresh::refresh_dkg_shares(&r2_secret, &r1_pkgs, &r2_pkgs, old_pkp, old_kp)
        .map_err(|e| frost_abort_secp(e, "share refresh"))?;
    if new_pkp.verifying_key() != &verifying_key {
        return Err(MpcError::new(ErrorCode::ProtocolAbort, "refresh changed the public key"));
    }

    // Back into the engine's share type; validation checks x·G against the public share.
    let dirty = old.into_inner();
    let mut core = dirty.core;
    let old_aux = dirty.aux.validate().map_err(|_| MpcError::internal("auxiliary data does not validate"))?;
    let new_x_bytes = Zeroizing::new(new_kp.signing_share().serialize());
    let mut new_x = Scalar::<E>::from_be_bytes(&*new_x_bytes).map_err(conversion_failed)?;
    let new_x = NonZero::from_secret_scalar(SecretScalar::new(&mut new_x)).ok_or_else(|| MpcError::internal("zero share"))?;
    let mut new_public = Vec::with_capacity(n as usize);
    for k in 0..n {
        let vs = new_pkp.verifying_shares().get(&id_of(k)?).ok_or_else(|| MpcError::internal("missing public share"))?;
        let pt = Point::<E>::from_bytes(vs.serialize().map_err(conversion_failed)?).map_err(conversion_failed)?;
        new_public.push(NonZero::from_point(pt).ok_or_else(|| MpcError::internal("zero public share"))?);
    }
    core.x = new_x;
    core.key_info.public_shares = new_public;
    let incomplete = core.validate().map_err(|_| MpcError::internal("refreshed share does not validate"))?;
    Ok((incomplete, old_aux))
}

/// Expresses a cggmp24 key share in frost-secp256k1's types at the same evaluation points
/// (party k is FROST identifier k+1): the same Shamir share x, the same public shares and
/// group key. Used by share refresh and by the emergency-exit reconstruction.
pub(crate) fn frost_packages(share: &EcdsaShare) -> MpcResult<(frost_secp256k1::keys::KeyPackage, frost_secp256k1::keys::PublicKeyPackage)> {
    use frost_secp256k1 as fs;
    let id_of = |k: u16| fs::Identifier::try_from(k + 1).map_err(conversion_failed);
    let secret_x: &SecretScalar<E> = share.core.x.as_ref();
    let scalar_x: &Scalar<E> = secret_x.as_ref();
    let x_bytes = Zeroizing::new(scalar_x.to_be_bytes().as_bytes().to_vec());
    let signing_share = fs::keys::SigningShare::deserialize(&x_bytes).map_err(conversion_failed)?;
    let pub_point = |pt: &NonZero<Point<E>>| pt.to_bytes(true).as_bytes().to_vec();
    let mut verifying_shares = BTreeMap::new();
    for (k, pt) in share.core.public_shares.iter().enumerate() {
        verifying_shares.insert(id_of(k as u16)?, fs::keys::VerifyingShare::deserialize(&pub_point(pt)).map_err(conversion_failed)?);
    }
    let verifying_key = fs::VerifyingKey::deserialize(&pub_point(&share.core.shared_public_key)).map_err(conversion_failed)?;
    let threshold = share.min_signers();
    let pkp = fs::keys::PublicKeyPackage::new(verifying_shares, verifying_key, Some(threshold));
    let me = share.core.i;
    let kp = fs::keys::KeyPackage::new(
        id_of(me)?,
        signing_share,
        fs::keys::VerifyingShare::deserialize(&pub_point(&share.core.public_shares[me as usize])).map_err(conversion_failed)?,
        verifying_key,
        threshold,
    );
    Ok((kp, pkp))
}

fn conversion_failed<T>(_: T) -> MpcError {
    MpcError::internal("share conversion failed")
}

fn frost_abort_secp(e: frost_secp256k1::Error, what: &str) -> MpcError {
    let culprit = e.culprits().first().and_then(|id| {
        let bytes = id.serialize();
        // Identifiers are k+1 as a big-endian scalar.
        let last = u16::from_be_bytes([bytes[bytes.len() - 2], bytes[bytes.len() - 1]]);
        last.checked_sub(1)
    });
    match culprit {
        Some(p) => MpcError::from_party(ErrorCode::ProtocolAbort, p, format!("{what} aborted by a party")),
        None => MpcError::new(ErrorCode::ProtocolAbort, format!("{what} aborted")),
    }
}

pub(crate) use crate::ecdsa_share::share_output;
