/**
 * The coordinator's own session store (SQLite). It holds no secrets: ids, quorum, deadlines,
 * state, error reasons and public results. The idempotency key makes a repeated CreateKeyset /
 * SignTx return the session it already made instead of starting another.
 */
import Database from 'better-sqlite3';
import type { PublicResult, SessionInfo } from './protocol';

export type CoordinatorSessionState = 'inviting' | 'running' | 'completed' | 'failed';

export interface SessionRow {
  session_id: string;
  idempotency_key: string;
  protocol: string;
  keyset_id: string;
  requester: string;
  info: string;
  state: CoordinatorSessionState;
  error_class: string | null;
  error_code: string | null;
  error_reason: string | null;
  blamed_node: string | null;
  result: string | null;
  created_at: number;
  deadline_at: number;
  finished_at: number | null;
}

export class CoordinatorStore {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        session_id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        protocol TEXT NOT NULL,
        keyset_id TEXT NOT NULL,
        requester TEXT NOT NULL,
        info TEXT NOT NULL,
        state TEXT NOT NULL,
        error_class TEXT, error_code TEXT, error_reason TEXT, blamed_node TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        deadline_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS nodes (
        node_id TEXT PRIMARY KEY,
        signing_public_key TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      );`);
    // Sessions that were open when the coordinator stopped cannot resume: their nodes lost them.
    this.db
      .prepare(`UPDATE sessions SET state = 'failed', error_class = 'transient', error_code = 'COORDINATOR_RESTARTED', error_reason = 'The coordinator restarted during the session.', finished_at = ? WHERE state IN ('inviting', 'running')`)
      .run(Date.now());
  }

  byIdempotencyKey(key: string): SessionRow | undefined {
    return this.db.prepare('SELECT * FROM sessions WHERE idempotency_key = ?').get(key) as SessionRow | undefined;
  }

  get(sessionId: string): SessionRow | undefined {
    return this.db.prepare('SELECT * FROM sessions WHERE session_id = ?').get(sessionId) as SessionRow | undefined;
  }

  insert(key: string, info: SessionInfo, now: number): void {
    this.db
      .prepare(`INSERT INTO sessions (session_id, idempotency_key, protocol, keyset_id, requester, info, state, created_at, deadline_at) VALUES (?, ?, ?, ?, ?, ?, 'inviting', ?, ?)`)
      .run(info.sessionId, key, info.protocol, info.keysetId, info.requester, JSON.stringify(info), now, info.deadlineAt);
  }

  /** Records a failure without a session (e.g. no quorum) so the request's outcome is kept. */
  insertFailed(key: string, info: SessionInfo, now: number, code: string, reason: string): void {
    this.db
      .prepare(`INSERT INTO sessions (session_id, idempotency_key, protocol, keyset_id, requester, info, state, error_class, error_code, error_reason, created_at, deadline_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, 'failed', 'transient', ?, ?, ?, ?, ?)`)
      .run(info.sessionId, key, info.protocol, info.keysetId, info.requester, JSON.stringify(info), code, reason, now, info.deadlineAt, now);
  }

  setState(sessionId: string, state: CoordinatorSessionState): void {
    this.db.prepare('UPDATE sessions SET state = ? WHERE session_id = ?').run(state, sessionId);
  }

  complete(sessionId: string, result: PublicResult, now: number): void {
    this.db.prepare(`UPDATE sessions SET state = 'completed', result = ?, finished_at = ? WHERE session_id = ? AND state IN ('inviting','running')`).run(JSON.stringify(result), now, sessionId);
  }

  fail(sessionId: string, f: { errorClass: string; code: string; reason: string; blamedNode?: string }, now: number): boolean {
    return (
      this.db
        .prepare(`UPDATE sessions SET state = 'failed', error_class = ?, error_code = ?, error_reason = ?, blamed_node = ?, finished_at = ? WHERE session_id = ? AND state IN ('inviting','running')`)
        .run(f.errorClass, f.code, f.reason, f.blamedNode ?? null, now, sessionId).changes > 0
    );
  }

  seen(nodeId: string, signingPublicKey: string, now: number): void {
    this.db
      .prepare(`INSERT INTO nodes (node_id, signing_public_key, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen`)
      .run(nodeId, signingPublicKey, now, now);
  }

  list(): SessionRow[] {
    return this.db.prepare('SELECT * FROM sessions ORDER BY created_at').all() as SessionRow[];
  }

  close(): void {
    this.db.close();
  }
}
