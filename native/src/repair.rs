//! Share repair for threshold EdDSA: ZF FROST's Repairable Threshold Scheme
//! (`frost_core::keys::repairable`, eprint 2017/1155). A quorum of helpers gives a new
//! machine the share of a lost party, at the lost party's index, without any party
//! learning another's share and with the group key unchanged.
//!
//! Rounds (stage 4): every helper sends each other helper a random-looking `delta`
//! (round 1, directed); every helper sums the deltas it holds into a `sigma` and sends it,
//! with the group's public key package, to the party being repaired (round 2, directed).
//! The repaired party sums the sigmas. The engine's part 3 does not check the result, so
//! this module does: every helper must send the same public key package, its group key
//! and the lost index's verifying share must be the ones the caller expects (the values
//! the guardians approved), and the repaired share's own verifying share must equal it.
//! Otherwise the session fails with SHARE_MISMATCH and yields no share.

use crate::cbor;
use crate::eddsa::{id_of, load_full, output};
use crate::error::{ErrorCode, MpcError, MpcResult};
use crate::session::{Ctx, IncomingMessage, SessionOutput, SessionParams};
use crate::util::solana_address;
use frost_ed25519 as frost;
use frost::keys::repairable::{Delta, Sigma};
use frost::keys::PublicKeyPackage;
use frost::Ed25519Sha512;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const STAGE_REPAIR: u8 = 4;
const ROUNDS: &[u16] = &[1, 2];

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct SigmaMessage {
    #[serde(with = "serde_bytes")]
    sigma: Vec<u8>,
    #[serde(with = "serde_bytes")]
    public_key_package: Vec<u8>,
}

fn internal(_: frost::Error) -> MpcError {
    MpcError::internal("FROST encoding failed")
}

fn malformed(from: u16) -> MpcError {
    MpcError::from_party(ErrorCode::MalformedMessage, from, "cannot decode message")
}

fn mismatch(message: &str) -> MpcError {
    MpcError::new(ErrorCode::ShareMismatch, message)
}

/// One directed message of `round` from each party in `from`; anyone else is refused.
fn collect(ctx: &mut Ctx, round: u16, from: &[u16]) -> MpcResult<Vec<IncomingMessage>> {
    let mut got: Vec<IncomingMessage> = Vec::new();
    while got.len() < from.len() {
        let inc = ctx.next_message_in_round(STAGE_REPAIR, Some((round, ROUNDS)))?;
        if inc.round != round || inc.broadcast {
            return Err(MpcError::from_party(ErrorCode::WrongRound, inc.from, "message for another round"));
        }
        if !from.contains(&inc.from) || got.iter().any(|g| g.from == inc.from) {
            return Err(MpcError::from_party(ErrorCode::WrongSender, inc.from, "this party sends no message in this round"));
        }
        got.push(inc);
    }
    Ok(got)
}

pub fn run_repair(ctx: &mut Ctx, p: SessionParams) -> MpcResult<SessionOutput> {
    let target = p.repair_for.ok_or_else(|| MpcError::invalid("eddsa-repair needs the index of the party being repaired"))?;
    if !p.parties.contains(&target) {
        return Err(MpcError::invalid("the party being repaired is not among the parties"));
    }
    let helpers: Vec<u16> = p.parties.iter().copied().filter(|x| *x != target).collect();
    if (helpers.len() as u16) < p.threshold {
        return Err(MpcError::invalid("a repair needs at least threshold helpers"));
    }
    if p.party_index == target {
        run_repaired(ctx, &p, target, &helpers)
    } else {
        run_helper(ctx, &p, target, &helpers)
    }
}

fn run_helper(ctx: &mut Ctx, p: &SessionParams, target: u16, helpers: &[u16]) -> MpcResult<SessionOutput> {
    let me = p.party_index;
    let blob = p.share.as_ref().ok_or_else(|| MpcError::invalid("a repair helper needs its key share"))?;
    let (fb, kp, pkp) = load_full(blob)?;
    if fb.party_index != me || fb.threshold != p.threshold {
        return Err(MpcError::invalid("key share does not match the repair parameters"));
    }
    if target >= fb.parties || helpers.iter().any(|h| *h >= fb.parties) {
        return Err(MpcError::invalid("repair parties must be key generation indexes"));
    }
    let helper_ids = helpers.iter().map(|h| id_of(*h)).collect::<MpcResult<Vec<_>>>()?;
    let others: Vec<u16> = helpers.iter().copied().filter(|h| *h != me).collect();
    ctx.progress(0, 2, "repair");
    let deltas = frost::keys::repairable::repair_share_part1::<Ed25519Sha512, _>(&helper_ids, &kp, &mut OsRng, id_of(target)?)
        .map_err(|_| MpcError::new(ErrorCode::ProtocolAbort, "repair could not start"))?;
    let mut mine: Vec<Delta> = Vec::with_capacity(helpers.len());
    for h in helpers {
        let delta = deltas.get(&id_of(*h)?).ok_or_else(|| MpcError::internal("missing delta"))?;
        if *h == me {
            mine.push(*delta);
        } else {
            ctx.send(Some(*h), STAGE_REPAIR, 1, delta.serialize());
        }
    }
    drop(deltas);
    for inc in collect(ctx, 1, &others)? {
        mine.push(Delta::deserialize(&inc.payload).map_err(|_| malformed(inc.from))?);
    }
    let sigma = frost::keys::repairable::repair_share_part2(&mine);
    drop(mine);
    let message = SigmaMessage { sigma: sigma.serialize(), public_key_package: pkp.serialize().map_err(internal)? };
    ctx.send(Some(target), STAGE_REPAIR, 2, cbor::to_bytes(&message)?);
    ctx.progress(2, 2, "repair");
    let public_key = pkp.verifying_key().serialize().map_err(internal)?;
    Ok(SessionOutput { address: Some(solana_address(&public_key)), public_key: Some(public_key), ..Default::default() })
}

fn run_repaired(ctx: &mut Ctx, p: &SessionParams, target: u16, helpers: &[u16]) -> MpcResult<SessionOutput> {
    if p.share.is_some() {
        return Err(MpcError::invalid("the party being repaired has no share to bring"));
    }
    let expected_key = p.expected_public_key.as_ref().ok_or_else(|| MpcError::invalid("eddsa-repair needs the group public key the share must belong to"))?;
    let expected_share = p.expected_public_share.as_ref().ok_or_else(|| MpcError::invalid("eddsa-repair needs the public share of the repaired index"))?;
    ctx.progress(0, 2, "repair");
    let mut sigmas: Vec<Sigma> = Vec::with_capacity(helpers.len());
    let mut package: Option<Zeroizing<Vec<u8>>> = None;
    for inc in collect(ctx, 2, helpers)? {
        let msg: SigmaMessage = cbor::from_bytes(&inc.payload, ErrorCode::MalformedMessage, "repair message").map_err(|_| malformed(inc.from))?;
        match &package {
            None => package = Some(Zeroizing::new(msg.public_key_package.clone())),
            Some(first) if first[..] != msg.public_key_package[..] => {
                return Err(MpcError::from_party(ErrorCode::ShareMismatch, inc.from, "helpers sent different public key packages"));
            }
            Some(_) => {}
        }
        sigmas.push(Sigma::deserialize(&msg.sigma).map_err(|_| malformed(inc.from))?);
    }
    let package = package.ok_or_else(|| MpcError::internal("no helper message"))?;
    let pkp = PublicKeyPackage::deserialize(&package).map_err(|_| mismatch("the helpers' public key package cannot be read"))?;
    if pkp.verifying_key().serialize().map_err(internal)? != expected_key[..] {
        return Err(mismatch("the helpers' group key is not the keyset's group key"));
    }
    let id = id_of(target)?;
    let public_share = pkp.verifying_shares().get(&id).ok_or_else(|| mismatch("the helpers' key package has no public share for this index"))?;
    if public_share.serialize().map_err(internal)? != expected_share[..] {
        return Err(mismatch("the helpers' public share for this index is not the keyset's"));
    }
    if pkp.min_signers() != Some(p.threshold) {
        return Err(mismatch("the helpers' key package has another threshold"));
    }
    let kp = frost::keys::repairable::repair_share_part3(&sigmas, id, &pkp).map_err(|_| mismatch("the repaired share cannot be built"))?;
    drop(sigmas);
    // Part 3 derives the verifying share from the sum it was sent: a wrong sigma gives another one.
    if kp.verifying_share() != public_share {
        return Err(mismatch("the repaired share does not match the keyset's public share for this index"));
    }
    ctx.progress(2, 2, "repair");
    let n = pkp.verifying_shares().len() as u16;
    output(target, n, &kp, &pkp)
}
