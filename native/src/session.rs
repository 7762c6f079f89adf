//! A protocol session: a thread the session owns runs the engine; the JS side
//! feeds envelopes in and drains envelopes out. No I/O happens here.

use crate::envelope::{session_digest, Envelope, BROADCAST};
use crate::error::{ErrorCode, MpcError, MpcResult};
use std::collections::{HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    EcdsaKeygen = 1,
    EcdsaSign = 2,
    EcdsaRefresh = 3,
    EddsaKeygen = 4,
    EddsaSign = 5,
    EddsaRefresh = 6,
    EcdsaPresign = 7,
    EcdsaAux = 8,
    EcdsaDkg = 9,
    EcdsaRefreshShares = 10,
    EddsaRepair = 11,
}

impl Protocol {
    pub fn parse(name: &str) -> MpcResult<Protocol> {
        Ok(match name {
            "ecdsa-keygen" => Protocol::EcdsaKeygen,
            "ecdsa-sign" => Protocol::EcdsaSign,
            "ecdsa-refresh" => Protocol::EcdsaRefresh,
            "eddsa-keygen" => Protocol::EddsaKeygen,
            "eddsa-sign" => Protocol::EddsaSign,
            "eddsa-refresh" => Protocol::EddsaRefresh,
            "ecdsa-presign" => Protocol::EcdsaPresign,
            "ecdsa-aux" => Protocol::EcdsaAux,
            "ecdsa-dkg" => Protocol::EcdsaDkg,
            "ecdsa-refresh-shares" => Protocol::EcdsaRefreshShares,
            "eddsa-repair" => Protocol::EddsaRepair,
            _ => return Err(MpcError::invalid("unknown protocol")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    AwaitingMessages,
    Done,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::AwaitingMessages => "awaiting-messages",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}

pub struct OutgoingMessage {
    pub to: Option<u16>,
    pub bytes: Vec<u8>,
}

pub struct IncomingMessage {
    pub from: u16,
    pub broadcast: bool,
    pub stage: u8,
    pub round: u16,
    pub payload: Vec<u8>,
}

/// What a finished session produced. Secret fields are zeroized on drop.
#[derive(Default)]
pub struct SessionOutput {
    pub share: Option<Zeroizing<Vec<u8>>>,
    pub public_key: Option<Vec<u8>>,
    pub public_share: Option<Vec<u8>>,
    pub address: Option<String>,
    pub signature: Option<Vec<u8>>,
    pub recovery_id: Option<u8>,
    /// ecdsa-presign: the secret, single-use presignature blob.
    pub presignature: Option<Zeroizing<Vec<u8>>>,
    /// ecdsa-presign: the public data every combiner needs, and its id and quorum.
    pub presignature_public: Option<Vec<u8>>,
    pub presignature_id: Option<Vec<u8>>,
    pub parties: Option<Vec<u16>>,
    /// ecdsa-aux: this party's secret auxiliary data, and the group's aux id (same at every party).
    pub aux: Option<Zeroizing<Vec<u8>>>,
    pub aux_id: Option<Vec<u8>>,
}

pub struct Inner {
    pub phase: Phase,
    pub inbox: VecDeque<IncomingMessage>,
    pub outgoing: Vec<OutgoingMessage>,
    pub error: Option<MpcError>,
    pub output: Option<SessionOutput>,
    pub cancelled: bool,
    pub progress_step: u32,
    pub progress_total: u32,
    pub progress_label: &'static str,
    pub compute_nanos: u64,
    pub bytes_sent: u64,
    pub messages_sent: u32,
    seen: HashSet<(u16, u8, u16, bool)>,
}

pub struct Shared {
    pub inner: Mutex<Inner>,
    pub changed: Condvar,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a worker panicked mid-update; the state is still readable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Clone)]
pub struct SessionParams {
    pub protocol: Protocol,
    pub session_id: Vec<u8>,
    pub party_index: u16,
    pub parties: Vec<u16>,
    pub threshold: u16,
    pub share: Option<Zeroizing<Vec<u8>>>,
    pub message: Option<Vec<u8>>,
    pub primes: Option<Zeroizing<Vec<u8>>>,
    /// This party's stored auxiliary data (ecdsa-dkg, ecdsa-refresh-shares).
    pub aux: Option<Zeroizing<Vec<u8>>>,
    /// eddsa-repair: the party index whose share is being repaired.
    pub repair_for: Option<u16>,
    /// eddsa-repair, repaired party: the group key and this index's public share it must get.
    pub expected_public_key: Option<Vec<u8>>,
    pub expected_public_share: Option<Vec<u8>>,
}

impl SessionParams {
    /// Key generation and refresh involve every party, numbered 0..n-1; returns n.
    pub fn check_full_parties(&self) -> MpcResult<u16> {
        let n = self.parties.len() as u16;
        if self.parties.iter().enumerate().any(|(k, v)| *v != k as u16) {
            return Err(MpcError::invalid("keygen and refresh take parties 0..n-1 in order"));
        }
        if self.threshold > n {
            return Err(MpcError::invalid("threshold exceeds the number of parties"));
        }
        Ok(n)
    }
}

/// Handle used by engine code on the worker thread.
pub struct Ctx {
    shared: Arc<Shared>,
    pub protocol: Protocol,
    pub digest: [u8; 32],
    pub me: u16,
    pub parties: Vec<u16>,
    busy_since: Instant,
}

impl Ctx {
    pub fn send(&mut self, to: Option<u16>, stage: u8, round: u16, payload: Vec<u8>) {
        let env = Envelope {
            protocol: self.protocol as u8,
            session_digest: self.digest,
            sender: self.me,
            recipient: to.unwrap_or(BROADCAST),
            stage,
            round,
            payload,
        };
        let bytes = env.encode();
        let mut g = self.shared.lock();
        let copies = if to.is_some() { 1 } else { self.parties.len().saturating_sub(1) as u64 };
        g.bytes_sent += bytes.len() as u64 * copies;
        g.messages_sent += 1;
        g.outgoing.push(OutgoingMessage { to, bytes });
        self.shared.changed.notify_all();
    }

    pub fn progress(&self, step: u32, total: u32, label: &'static str) {
        let mut g = self.shared.lock();
        g.progress_step = step;
        g.progress_total = total;
        g.progress_label = label;
        self.shared.changed.notify_all();
    }

    pub fn check_cancelled(&self) -> MpcResult<()> {
        if self.shared.lock().cancelled {
            return Err(MpcError::new(ErrorCode::Cancelled, "session cancelled"));
        }
        Ok(())
    }

    fn add_compute(&mut self, g: &mut Inner) {
        g.compute_nanos += self.busy_since.elapsed().as_nanos() as u64;
    }

    /// Blocks until a message of `stage` arrives. Messages of later stages stay queued.
    pub fn next_message(&mut self, stage: u8) -> MpcResult<IncomingMessage> {
        self.next_message_in_round(stage, None)
    }

    /// Like `next_message`, for engines whose rounds we drive ourselves: `rounds` is
    /// (current round, all rounds of the stage). A message for a later round of the
    /// stage waits in the queue; one for a round the stage does not have is refused.
    pub fn next_message_in_round(&mut self, stage: u8, rounds: Option<(u16, &[u16])>) -> MpcResult<IncomingMessage> {
        let shared = self.shared.clone();
        let mut g = shared.lock();
        self.add_compute(&mut g);
        loop {
            if g.cancelled {
                return Err(MpcError::new(ErrorCode::Cancelled, "session cancelled"));
            }
            if let Some((_, all)) = rounds {
                if let Some(bad) = g.inbox.iter().find(|m| m.stage == stage && !all.contains(&m.round)) {
                    return Err(MpcError::from_party(ErrorCode::WrongRound, bad.from, "message for a round this protocol does not have"));
                }
            }
            let wanted = |m: &IncomingMessage| m.stage < stage || (m.stage == stage && rounds.map_or(true, |(r, _)| m.round == r));
            if let Some(pos) = g.inbox.iter().position(wanted) {
                let msg = g.inbox.remove(pos).expect("position is in range");
                if msg.stage < stage {
                    return Err(MpcError::from_party(
                        ErrorCode::WrongRound,
                        msg.from,
                        "message for a stage that is already finished",
                    ));
                }
                g.phase = Phase::Running;
                self.busy_since = Instant::now();
                return Ok(msg);
            }
            g.phase = Phase::AwaitingMessages;
            shared.changed.notify_all();
            g = shared.changed.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Local (0-based) position of a keygen party index among this session's parties.
    pub fn local_index(&self, party: u16) -> MpcResult<u16> {
        self.parties
            .iter()
            .position(|p| *p == party)
            .map(|p| p as u16)
            .ok_or_else(|| MpcError::from_party(ErrorCode::WrongSender, party, "not a party of this session"))
    }
}

pub struct Session {
    pub shared: Arc<Shared>,
    protocol: Protocol,
    digest: [u8; 32],
    me: u16,
    parties: Vec<u16>,
}

pub type Runner = fn(&mut Ctx, SessionParams) -> MpcResult<SessionOutput>;

impl Session {
    pub fn start(params: SessionParams, runner: Runner) -> MpcResult<Session> {
        if params.session_id.len() < 16 || params.session_id.len() > 256 {
            return Err(MpcError::invalid("session id must be 16..256 bytes"));
        }
        let mut sorted = params.parties.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != params.parties.len() || sorted.len() < 2 {
            return Err(MpcError::invalid("parties must be at least two distinct indexes"));
        }
        if !params.parties.contains(&params.party_index) {
            return Err(MpcError::invalid("this party is not among the parties"));
        }
        if params.threshold < 2 {
            return Err(MpcError::invalid("threshold must be at least 2"));
        }
        let digest = session_digest(params.protocol as u8, &params.session_id);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                phase: Phase::Running,
                inbox: VecDeque::new(),
                outgoing: Vec::new(),
                error: None,
                output: None,
                cancelled: false,
                progress_step: 0,
                progress_total: 1,
                progress_label: "starting",
                compute_nanos: 0,
                bytes_sent: 0,
                messages_sent: 0,
                seen: HashSet::new(),
            }),
            changed: Condvar::new(),
        });
        let mut ctx = Ctx {
            shared: shared.clone(),
            protocol: params.protocol,
            digest,
            me: params.party_index,
            parties: params.parties.clone(),
            busy_since: Instant::now(),
        };
        let session = Session {
            shared: shared.clone(),
            protocol: params.protocol,
            digest,
            me: params.party_index,
            parties: params.parties.clone(),
        };
        std::thread::Builder::new()
            .name("vk-mpc-session".into())
            .stack_size(16 * 1024 * 1024)
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| runner(&mut ctx, params)))
                    .unwrap_or_else(|_| Err(MpcError::internal("engine panicked")));
                let shared = ctx.shared.clone();
                let mut g = shared.lock();
                ctx.add_compute(&mut g);
                match outcome {
                    Ok(out) if g.error.is_none() => {
                        g.output = Some(out);
                        g.phase = Phase::Done;
                    }
                    Ok(_) => g.phase = Phase::Failed,
                    Err(e) => {
                        if g.error.is_none() {
                            g.error = Some(e);
                        }
                        g.phase = Phase::Failed;
                    }
                }
                shared.changed.notify_all();
            })
            .map_err(|_| MpcError::internal("cannot start session thread"))?;
        Ok(session)
    }

    fn fail(&self, g: &mut Inner, err: MpcError) -> MpcError {
        if g.error.is_none() {
            g.error = Some(err.clone());
        }
        g.cancelled = true;
        self.shared.changed.notify_all();
        err
    }

    /// Validates the envelope and queues it for the engine. Any violation ends the session.
    pub fn feed(&self, from: u16, bytes: &[u8]) -> MpcResult<()> {
        let mut g = self.shared.lock();
        if matches!(g.phase, Phase::Done | Phase::Failed) || g.cancelled {
            return Err(MpcError::new(ErrorCode::SessionFinished, "session has ended"));
        }
        let env = match Envelope::decode(bytes, from) {
            Ok(e) => e,
            Err(e) => return Err(self.fail(&mut g, e)),
        };
        let reject = |code, msg: &str| MpcError::from_party(code, from, msg);
        let check = if env.protocol != self.protocol as u8 || env.session_digest != self.digest {
            Err(reject(ErrorCode::WrongSession, "message belongs to another session"))
        } else if env.sender != from || from == self.me || !self.parties.contains(&from) {
            Err(reject(ErrorCode::WrongSender, "sender does not match the message"))
        } else if env.recipient != BROADCAST && env.recipient != self.me {
            Err(reject(ErrorCode::WrongRecipient, "message is addressed to another party"))
        } else if !g.seen.insert((from, env.stage, env.round, env.recipient == BROADCAST)) {
            Err(reject(ErrorCode::ReplayedMessage, "message was already received"))
        } else {
            Ok(())
        };
        if let Err(e) = check {
            return Err(self.fail(&mut g, e));
        }
        g.inbox.push_back(IncomingMessage {
            from,
            broadcast: env.recipient == BROADCAST,
            stage: env.stage,
            round: env.round,
            payload: env.payload,
        });
        g.phase = Phase::Running;
        self.shared.changed.notify_all();
        Ok(())
    }

    pub fn cancel(&self) {
        let mut g = self.shared.lock();
        if !matches!(g.phase, Phase::Done | Phase::Failed) {
            g.cancelled = true;
            if g.error.is_none() {
                g.error = Some(MpcError::new(ErrorCode::Cancelled, "session cancelled"));
            }
        }
        self.shared.changed.notify_all();
    }

    /// Blocks (off the JS thread) until the engine is idle or finished.
    pub fn wait_idle(&self) -> MutexGuard<'_, Inner> {
        let mut g = self.shared.lock();
        loop {
            let idle = match g.phase {
                Phase::Done | Phase::Failed => true,
                Phase::AwaitingMessages => g.inbox.is_empty(),
                Phase::Running => false,
            };
            if idle {
                return g;
            }
            g = self.shared.changed.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Lets an abandoned worker thread exit instead of waiting forever.
        self.cancel();
    }
}
