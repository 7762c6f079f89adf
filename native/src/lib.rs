//! Vaultkeeper MPC signer addon: message-driven threshold ECDSA (secp256k1) and
//! EdDSA (Ed25519) sessions behind one narrow interface, exposed through N-API.

mod aux;
mod cbor;
mod ecdsa;
mod ecdsa_share;
mod eddsa;
mod envelope;
mod exit;
mod error;
mod presign;
mod repair;
mod session;
mod share;
mod util;

use error::{MpcError, MpcResult};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use session::{Phase, Protocol, Session, SessionOutput, SessionParams};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Bytes handed to JS as a buffer the engine owns (napi_create_buffer_copy), never
/// an external buffer: Electron's V8 memory cage rejects those.
pub struct CopiedBuffer(Vec<u8>);

impl TypeName for CopiedBuffer {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for CopiedBuffer {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let mut out = std::ptr::null_mut();
        let mut data = std::ptr::null_mut();
        let status = napi::sys::napi_create_buffer_copy(env, val.0.len(), val.0.as_ptr().cast(), &mut data, &mut out);
        if status != napi::sys::Status::napi_ok {
            return Err(Error::new(Status::GenericFailure, "cannot create buffer"));
        }
        Ok(out)
    }
}

impl Drop for CopiedBuffer {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

fn js_error(e: MpcError) -> Error {
    let party = e.party.map(|p| p.to_string()).unwrap_or_default();
    Error::new(Status::GenericFailure, format!("VKMPC:{}:{}:{}", e.code.as_str(), party, e.message))
}

fn guarded<T>(f: impl FnOnce() -> MpcResult<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(js_error),
        Err(_) => Err(js_error(MpcError::internal("unexpected failure in the addon"))),
    }
}

#[napi(object)]
pub struct SessionOptions {
    /// ecdsa-keygen | ecdsa-sign | ecdsa-refresh | ecdsa-presign | eddsa-keygen | eddsa-sign | eddsa-refresh | eddsa-repair (and the ECDSA aux protocols)
    pub protocol: String,
    pub session_id: Buffer,
    pub party_index: u32,
    pub parties: Vec<u32>,
    pub threshold: u32,
    /// Full key share blob (sign, refresh, presign).
    pub share: Option<Buffer>,
    /// 32-byte digest (ecdsa-sign) or the message itself (eddsa-sign).
    pub message: Option<Buffer>,
    /// Pregenerated Paillier primes from `generatePaillierPrimes` (ecdsa-keygen, ecdsa-refresh, ecdsa-aux).
    pub primes: Option<Buffer>,
    /// This party's stored auxiliary data (ecdsa-dkg: completes the share; ecdsa-refresh-shares: replaces it).
    pub aux: Option<Buffer>,
    /// eddsa-repair: the party index whose lost share the other parties rebuild.
    pub repair_for: Option<u32>,
    /// eddsa-repair, repaired party: the group public key the repaired share must belong to.
    pub expected_public_key: Option<Buffer>,
    /// eddsa-repair, repaired party: the public (verifying) share of its index it must match.
    pub expected_public_share: Option<Buffer>,
}

#[napi(object, object_from_js = false)]
pub struct MpcErrorInfo {
    pub code: String,
    pub party: Option<u32>,
    pub message: String,
}

impl From<&MpcError> for MpcErrorInfo {
    fn from(e: &MpcError) -> Self {
        MpcErrorInfo { code: e.code.as_str().to_string(), party: e.party.map(u32::from), message: e.message.clone() }
    }
}

#[napi(object, object_from_js = false)]
pub struct OutgoingMessage {
    /// Recipient party index, or null for a broadcast to every other party.
    pub to: Option<u32>,
    pub bytes: CopiedBuffer,
}

#[napi(object, object_from_js = false)]
pub struct SessionProgress {
    pub step: u32,
    pub total: u32,
    pub label: String,
}

#[napi(object, object_from_js = false)]
pub struct SessionResult {
    pub share: Option<CopiedBuffer>,
    pub public_key: Option<CopiedBuffer>,
    pub public_share: Option<CopiedBuffer>,
    pub address: Option<String>,
    pub signature: Option<CopiedBuffer>,
    pub recovery_id: Option<u32>,
    /// ecdsa-presign: this party's secret, single-use presignature.
    pub presignature: Option<CopiedBuffer>,
    /// ecdsa-presign: public data needed to combine partial signatures (same at every party).
    pub presignature_public: Option<CopiedBuffer>,
    pub presignature_id: Option<CopiedBuffer>,
    /// ecdsa-presign: the quorum the presignature is bound to.
    pub parties: Option<Vec<u32>>,
    /// ecdsa-aux: this party's secret auxiliary data.
    pub aux: Option<CopiedBuffer>,
    /// ecdsa-aux: hash of the group's public auxiliary data (the same at every party).
    pub aux_id: Option<CopiedBuffer>,
}

#[napi(object, object_from_js = false)]
pub struct SessionSnapshot {
    /// running | awaiting-messages | done | failed
    pub phase: String,
    pub outgoing: Vec<OutgoingMessage>,
    pub progress: SessionProgress,
    pub error: Option<MpcErrorInfo>,
    pub result: Option<SessionResult>,
    pub compute_ms: f64,
    pub bytes_sent: f64,
    pub messages_sent: u32,
}

fn result_js(out: SessionOutput) -> SessionResult {
    SessionResult {
        share: out.share.map(|s| CopiedBuffer(s.to_vec())),
        public_key: out.public_key.map(CopiedBuffer),
        public_share: out.public_share.map(CopiedBuffer),
        address: out.address,
        signature: out.signature.map(CopiedBuffer),
        recovery_id: out.recovery_id.map(u32::from),
        presignature: out.presignature.map(|s| CopiedBuffer(s.to_vec())),
        presignature_public: out.presignature_public.map(CopiedBuffer),
        presignature_id: out.presignature_id.map(CopiedBuffer),
        parties: out.parties.map(|ps| ps.into_iter().map(u32::from).collect()),
        aux: out.aux.map(|s| CopiedBuffer(s.to_vec())),
        aux_id: out.aux_id.map(CopiedBuffer),
    }
}

fn snapshot(session: &Session, wait: bool) -> SessionSnapshot {
    let mut g = if wait { session.wait_idle() } else { session.shared.lock() };
    let outgoing = std::mem::take(&mut g.outgoing)
        .into_iter()
        .map(|m| OutgoingMessage { to: m.to.map(u32::from), bytes: CopiedBuffer(m.bytes) })
        .collect();
    let phase = if g.error.is_some() && g.phase != Phase::Done { Phase::Failed } else { g.phase };
    SessionSnapshot {
        phase: phase.as_str().to_string(),
        outgoing,
        progress: SessionProgress { step: g.progress_step, total: g.progress_total, label: g.progress_label.to_string() },
        error: g.error.as_ref().map(MpcErrorInfo::from),
        result: if phase == Phase::Done { g.output.take().map(result_js) } else { None },
        compute_ms: g.compute_nanos as f64 / 1e6,
        bytes_sent: g.bytes_sent as f64,
        messages_sent: g.messages_sent,
    }
}

pub struct WaitIdle {
    session: Arc<Session>,
}

impl Task for WaitIdle {
    type Output = SessionSnapshot;
    type JsValue = SessionSnapshot;

    fn compute(&mut self) -> Result<Self::Output> {
        let s = self.session.clone();
        catch_unwind(AssertUnwindSafe(move || snapshot(&s, true)))
            .map_err(|_| js_error(MpcError::internal("unexpected failure in the addon")))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

fn to_u16(v: u32, what: &str) -> MpcResult<u16> {
    u16::try_from(v).ok().filter(|x| *x != envelope::BROADCAST).ok_or_else(|| MpcError::invalid(format!("{what} out of range")))
}

#[napi]
pub struct MpcSession {
    inner: Arc<Session>,
}

#[napi]
impl MpcSession {
    /// Validates and queues one incoming message. Returns null when accepted; otherwise
    /// the typed error that ended the session.
    #[napi]
    pub fn feed(&self, from: u32, message: Buffer) -> Result<Option<MpcErrorInfo>> {
        let inner = self.inner.clone();
        guarded(move || {
            let from = to_u16(from, "sender")?;
            Ok(inner.feed(from, &message).err().map(|e| MpcErrorInfo::from(&e)))
        })
    }

    /// Resolves once the engine has used every queued message (or finished); drains outgoing messages.
    #[napi(ts_return_type = "Promise<SessionSnapshot>")]
    pub fn next(&self) -> AsyncTask<WaitIdle> {
        AsyncTask::new(WaitIdle { session: self.inner.clone() })
    }

    /// Current state without waiting; also drains outgoing messages.
    #[napi]
    pub fn poll(&self) -> Result<SessionSnapshot> {
        let inner = self.inner.clone();
        guarded(move || Ok(snapshot(&inner, false)))
    }

    #[napi]
    pub fn cancel(&self) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.inner.cancel()));
    }
}

#[napi]
pub fn create_session(options: SessionOptions) -> Result<MpcSession> {
    guarded(move || {
        let protocol = Protocol::parse(&options.protocol)?;
        let parties = options.parties.iter().map(|p| to_u16(*p, "party")).collect::<MpcResult<Vec<u16>>>()?;
        let params = SessionParams {
            protocol,
            session_id: options.session_id.to_vec(),
            party_index: to_u16(options.party_index, "party index")?,
            parties,
            threshold: to_u16(options.threshold, "threshold")?,
            share: options.share.as_ref().map(|b| Zeroizing::new(b.to_vec())),
            message: options.message.as_ref().map(|b| b.to_vec()),
            primes: options.primes.as_ref().map(|b| Zeroizing::new(b.to_vec())),
            aux: options.aux.as_ref().map(|b| Zeroizing::new(b.to_vec())),
            repair_for: options.repair_for.map(|v| to_u16(v, "repaired party")).transpose()?,
            expected_public_key: options.expected_public_key.as_ref().map(|b| b.to_vec()),
            expected_public_share: options.expected_public_share.as_ref().map(|b| b.to_vec()),
        };
        let runner: session::Runner = match protocol {
            Protocol::EcdsaKeygen => ecdsa::run_keygen,
            Protocol::EcdsaSign => ecdsa::run_sign,
            Protocol::EcdsaRefresh => ecdsa::run_refresh,
            Protocol::EddsaKeygen => eddsa::run_keygen,
            Protocol::EddsaSign => eddsa::run_sign,
            Protocol::EddsaRefresh => eddsa::run_refresh,
            Protocol::EcdsaPresign => presign::run_presign,
            Protocol::EcdsaAux => aux::run_aux_gen,
            Protocol::EcdsaDkg => aux::run_dkg,
            Protocol::EcdsaRefreshShares => aux::run_refresh_shares,
            Protocol::EddsaRepair => repair::run_repair,
        };
        Ok(MpcSession { inner: Arc::new(Session::start(params, runner)?) })
    })
}

pub struct GeneratePrimes;

impl Task for GeneratePrimes {
    type Output = Vec<u8>;
    type JsValue = CopiedBuffer;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded(|| ecdsa::generate_primes(|_| false).map(|z| z.to_vec()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(CopiedBuffer(output))
    }
}

/// Generates the four safe primes one party needs for CGGMP24 aux info (slow: seconds
/// to minutes). Run ahead of a ceremony; the blob is secret and single-use.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn generate_paillier_primes(signal: Option<AbortSignal>) -> AsyncTask<GeneratePrimes> {
    AsyncTask::with_optional_signal(GeneratePrimes, signal)
}

#[napi(object, object_from_js = false)]
pub struct ShareInfoJs {
    pub engine: String,
    pub party_index: u32,
    pub threshold: u32,
    pub parties: u32,
    pub public_key: CopiedBuffer,
    pub public_share: CopiedBuffer,
    pub address: String,
}

/// Public facts about a full or public share blob.
#[napi]
pub fn share_info(share: Buffer) -> Result<ShareInfoJs> {
    guarded(move || {
        let i = share::info(&share)?;
        Ok(ShareInfoJs {
            engine: i.engine.name().to_string(),
            party_index: i.party_index.into(),
            threshold: i.threshold.into(),
            parties: i.parties.into(),
            public_key: CopiedBuffer(i.public_key),
            public_share: CopiedBuffer(i.public_share),
            address: i.address,
        })
    })
}

#[napi(object, object_from_js = false)]
pub struct DetachedShare {
    pub public_part: CopiedBuffer,
    pub private_part: CopiedBuffer,
}

/// Splits a full share into its public part and its private part (for backup).
#[napi]
pub fn detach_share(share: Buffer) -> Result<DetachedShare> {
    guarded(move || {
        let (public, private) = share::detach(&share)?;
        Ok(DetachedShare { public_part: CopiedBuffer(public), private_part: CopiedBuffer(private.to_vec()) })
    })
}

/// Joins a public and a private part, verifying that the private part matches the public share.
#[napi]
pub fn attach_share(public_part: Buffer, private_part: Buffer) -> Result<CopiedBuffer> {
    guarded(move || Ok(CopiedBuffer(share::attach(&public_part, &private_part)?.to_vec())))
}

#[napi(object, object_from_js = false)]
pub struct PresignatureInfoJs {
    /// presignature (secret, single use) | public-data
    pub kind: String,
    pub id: CopiedBuffer,
    /// The party that holds the presignature (absent for public data).
    pub party_index: Option<u32>,
    /// The quorum the presignature is bound to.
    pub parties: Vec<u32>,
    pub public_key: CopiedBuffer,
    pub address: String,
}

/// Public facts about a presignature blob or its public data; nothing secret is returned.
#[napi]
pub fn presignature_info(blob: Buffer) -> Result<PresignatureInfoJs> {
    guarded(move || {
        let f = presign::info(&blob)?;
        Ok(PresignatureInfoJs {
            kind: if f.party.is_some() { "presignature" } else { "public-data" }.to_string(),
            id: CopiedBuffer(f.id),
            party_index: f.party.map(u32::from),
            parties: f.parties.into_iter().map(u32::from).collect(),
            public_key: CopiedBuffer(f.public_key),
            address: f.address,
        })
    })
}

/// The online step of presigned ECDSA, local to this party: a partial signature over
/// keccak256(preimage). Consumes the presignature (refused if used before in this process).
#[napi]
pub fn issue_partial_signature(presignature: Buffer, share: Option<Buffer>, preimage: Buffer) -> Result<CopiedBuffer> {
    guarded(move || {
        let share = share.as_ref().map(|b| &b[..]);
        Ok(CopiedBuffer(presign::issue_partial(&presignature, share, &preimage)?))
    })
}

#[napi(object, object_from_js = false)]
pub struct CombinedSignature {
    /// r || s (64 bytes, low-s).
    pub signature: CopiedBuffer,
    /// 0 or 1; v = 27 + recoveryId (legacy) or yParity = recoveryId (typed transactions).
    pub recovery_id: u32,
    /// keccak256(preimage), the digest that was signed.
    pub digest: CopiedBuffer,
    pub public_key: CopiedBuffer,
    pub address: String,
}

/// Combines one partial signature per quorum party into a verified ECDSA signature over
/// keccak256(preimage).
#[napi]
pub fn combine_partial_signatures(partials: Vec<Buffer>, preimage: Buffer, public_data: Buffer) -> Result<CombinedSignature> {
    guarded(move || {
        let slices: Vec<&[u8]> = partials.iter().map(|b| &b[..]).collect();
        let c = presign::combine(&slices, &preimage, &public_data)?;
        Ok(CombinedSignature {
            signature: CopiedBuffer(c.signature),
            recovery_id: u32::from(c.recovery_id),
            digest: CopiedBuffer(c.digest),
            public_key: CopiedBuffer(c.public_key),
            address: c.address,
        })
    })
}

/// Completes an incomplete ECDSA share (from `ecdsa-dkg` without aux) with this party's
/// auxiliary data; the engine validates that they fit.
#[napi]
pub fn complete_ecdsa_share(incomplete: Buffer, aux_data: Buffer) -> Result<CopiedBuffer> {
    guarded(move || Ok(CopiedBuffer(aux::complete_share(&incomplete, &aux_data)?.to_vec())))
}

/// The same ECDSA key share with other auxiliary data (same party, same group size).
#[napi]
pub fn replace_ecdsa_aux(share: Buffer, aux_data: Buffer) -> Result<CopiedBuffer> {
    guarded(move || Ok(CopiedBuffer(aux::replace_aux(&share, &aux_data)?.to_vec())))
}

#[napi(object, object_from_js = false)]
pub struct AuxInfoJs {
    pub party_index: u32,
    pub parties: u32,
    /// Hash of the group's public auxiliary data: equal at every party of the group.
    pub aux_id: CopiedBuffer,
}

/// Public facts about auxiliary data, or about the auxiliary data inside a full ECDSA share.
#[napi]
pub fn ecdsa_aux_info(blob: Buffer) -> Result<AuxInfoJs> {
    guarded(move || {
        let f = aux::aux_facts(&blob)?;
        Ok(AuxInfoJs { party_index: f.party_index.into(), parties: f.parties.into(), aux_id: CopiedBuffer(f.aux_id) })
    })
}

/// The engine's signing precomputation (multi-exponentiation tables) on a full ECDSA
/// share; the result stays in memory (never sealed or backed up).
#[napi]
pub fn precompute_ecdsa_share(share: Buffer) -> Result<CopiedBuffer> {
    guarded(move || Ok(CopiedBuffer(aux::precompute(&share)?.to_vec())))
}

#[napi(object, object_from_js = false)]
pub struct ReconstructedKey {
    /// cggmp24-secp256k1 | frost-ed25519
    pub engine: String,
    /// Secret. secp256k1: 32-byte big-endian private key; Ed25519: 32-byte little-endian
    /// secret scalar (not a seed). The caller wipes it after use.
    pub secret_key: CopiedBuffer,
    pub public_key: CopiedBuffer,
    pub address: String,
}

/// Emergency exit: rebuilds a keyset's full secret key from full shares of at least its
/// threshold of different parties; refused unless the key's public key is the group key.
#[napi]
pub fn reconstruct_secret_key(shares: Vec<Buffer>) -> Result<ReconstructedKey> {
    guarded(move || {
        let slices: Vec<&[u8]> = shares.iter().map(|b| &b[..]).collect();
        let r = exit::reconstruct(&slices)?;
        Ok(ReconstructedKey {
            engine: r.engine.name().to_string(),
            secret_key: CopiedBuffer(r.secret_key.to_vec()),
            public_key: CopiedBuffer(r.public_key),
            address: r.address,
        })
    })
}

/// Every party's current public share, by party index, from a full share.
#[napi]
pub fn group_public_shares(share: Buffer) -> Result<Vec<CopiedBuffer>> {
    guarded(move || Ok(exit::group_public_shares(&share)?.into_iter().map(CopiedBuffer).collect()))
}

/// Ed25519 signature with an exported secret scalar whose public key must be `public_key`.
#[napi]
pub fn sign_with_ed25519_scalar(secret_scalar: Buffer, public_key: Buffer, message: Buffer) -> Result<CopiedBuffer> {
    guarded(move || Ok(CopiedBuffer(exit::sign_ed25519(&secret_scalar, &public_key, &message)?)))
}

#[napi]
pub fn engine_info() -> Vec<String> {
    vec!["cggmp24-secp256k1".into(), "frost-ed25519".into()]
}
