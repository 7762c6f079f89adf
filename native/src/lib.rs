//! Vaultkeeper MPC signer addon: message-driven threshold ECDSA (secp256k1) and
//! EdDSA (Ed25519) sessions behind one narrow interface, exposed through N-API.

mod cbor;
mod ecdsa;
mod eddsa;
mod envelope;
mod error;
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
    /// ecdsa-keygen | ecdsa-sign | ecdsa-refresh | eddsa-keygen | eddsa-sign | eddsa-refresh
    pub protocol: String,
    pub session_id: Buffer,
    pub party_index: u32,
    pub parties: Vec<u32>,
    pub threshold: u32,
    /// Full key share blob (sign, refresh).
    pub share: Option<Buffer>,
    /// 32-byte digest (ecdsa-sign) or the message itself (eddsa-sign).
    pub message: Option<Buffer>,
    /// Pregenerated Paillier primes from `generatePaillierPrimes` (ecdsa-keygen, ecdsa-refresh).
    pub primes: Option<Buffer>,
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
        };
        let runner: session::Runner = match protocol {
            Protocol::EcdsaKeygen => ecdsa::run_keygen,
            Protocol::EcdsaSign => ecdsa::run_sign,
            Protocol::EcdsaRefresh => ecdsa::run_refresh,
            Protocol::EddsaKeygen => eddsa::run_keygen,
            Protocol::EddsaSign => eddsa::run_sign,
            Protocol::EddsaRefresh => eddsa::run_refresh,
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

#[napi]
pub fn engine_info() -> Vec<String> {
    vec!["cggmp24-secp256k1".into(), "frost-ed25519".into()]
}
