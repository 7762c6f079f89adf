/**
 * Worker threads that verify large bundles in parallel with the main thread, used synchronously:
 * the import stays one call that returns its report. The main thread hands out chunks, verifies
 * chunks itself while the workers work, and waits on a shared signal (Atomics.wait) for the rest.
 * A worker that is not ready, crashes or does not answer in time costs speed, never a check: its
 * chunk is verified on the main thread.
 *
 * Loading: from source (tests, headless host) the worker's TypeScript is loaded through tsx; in
 * the bundled Electron main it is the sibling file permit-verify-worker.cjs (scripts/build-electron.mjs).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { VerificationSnapshot, VerifyItem, VerifyOutcome } from './parallel-verification';

/** A worker answering none of its chunk in this long is given up for this import. */
const ANSWER_TIMEOUT_MS = 60_000;
const MAX_WORKERS = 7;

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  slot: number;
  ready: boolean;
  dead: boolean;
  /** The chunk it is working on, if any. */
  busy: { job: number; chunk: number; since: number } | null;
}

type Answer = { ready: true } | { failed: true } | { job: number; outcomes: VerifyOutcome[] | null };

/**
 * The worker's start-up script: loads the worker module and, if that fails, says so on the port,
 * because the main thread may be blocked in Atomics.wait, where a worker's error event never arrives.
 */
function workerScript(): string | null {
  const here = import.meta.url;
  const onFailure = `(() => { const { workerData } = require('node:worker_threads'); workerData.port.postMessage({ failed: true }); Atomics.add(workerData.signal, workerData.slot, 1); Atomics.notify(workerData.signal, workerData.slot); })`;
  if (here.endsWith('.ts')) {
    // From source (tests, headless host): the TypeScript worker through tsx.
    const file = new URL('./permit-verify-worker.ts', here).href;
    // tsx's ESM API (its CommonJS twin cannot load its own ESM half from an eval'd worker).
    const tsx = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    return `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(file)}, ${JSON.stringify(here)})).catch(${onFailure})`;
  }
  // The bundled Electron main: the worker bundle beside it. A build without it verifies on the main thread alone.
  const file = fileURLToPath(new URL('./permit-verify-worker.cjs', here));
  if (!existsSync(file)) return null;
  return `try { require(${JSON.stringify(file)}); } catch { ${onFailure}(); }`;
}

/** Workers beside the main thread, one per further core. */
export function defaultWorkerCount(): number {
  return Math.min(MAX_WORKERS, Math.max(0, availableParallelism() - 1));
}

export class VerifyPool {
  private readonly workers: PoolWorker[] = [];
  private readonly signal: Int32Array;
  private nextJob = 1;

  constructor(size: number) {
    this.signal = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, size)));
    const script = workerScript();
    for (let slot = 0; script !== null && slot < size; slot += 1) {
      const channel = new MessageChannel();
      const worker = new Worker(script, { eval: true, workerData: { port: channel.port2, signal: this.signal, slot }, transferList: [channel.port2] });
      const entry: PoolWorker = { worker, port: channel.port1, slot, ready: false, dead: false, busy: null };
      worker.on('error', () => {
        entry.dead = true;
      });
      worker.on('exit', () => {
        entry.dead = true;
      });
      // An idle pool never keeps the process alive.
      worker.unref();
      channel.port1.unref();
      this.workers.push(entry);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Waits (blocking, at most `timeoutMs`) until every live worker said it is ready; returns how many are. */
  waitReady(timeoutMs: number): number {
    const deadline = Date.now() + timeoutMs;
    for (const w of this.workers) {
      while (!w.ready && !w.dead && Date.now() < deadline) {
        const seen = Atomics.load(this.signal, w.slot);
        if (this.poll(w, -1) !== null) continue;
        Atomics.wait(this.signal, w.slot, seen, Math.min(200, Math.max(1, deadline - Date.now())));
      }
    }
    return this.workers.filter((w) => w.ready && !w.dead).length;
  }

  /**
   * Verifies `chunks` (each a list of items): workers take chunks as they free up, the main
   * thread verifies one chunk at a time with `local` in between. Returns the outcomes per chunk.
   */
  run(chunks: VerifyItem[][], snapshot: VerificationSnapshot, local: (chunk: VerifyItem[]) => VerifyOutcome[]): VerifyOutcome[][] {
    const job = this.nextJob++;
    const results: Array<VerifyOutcome[] | undefined> = new Array(chunks.length);
    let next = 0;
    const handOut = () => {
      for (const w of this.workers) {
        if (next >= chunks.length) return;
        if (w.dead || w.busy) continue;
        if (!w.ready) this.poll(w, job);
        if (!w.ready) continue;
        w.busy = { job, chunk: next, since: Date.now() };
        w.port.postMessage({ job, items: chunks[next], snapshot });
        next += 1;
      }
    };
    const collect = (w: PoolWorker, outcomes: VerifyOutcome[] | null) => {
      const chunk = w.busy!.chunk;
      w.busy = null;
      results[chunk] = outcomes !== null && outcomes.length === chunks[chunk]!.length ? outcomes : local(chunks[chunk]!);
    };
    handOut();
    while (next < chunks.length) {
      const mine = next++;
      results[mine] = local(chunks[mine]!);
      for (const w of this.workers) {
        if (!w.busy) continue;
        const answer = this.poll(w, job);
        if (answer) collect(w, answer.outcomes);
      }
      handOut();
    }
    for (const w of this.workers) {
      while (w.busy) {
        const seen = Atomics.load(this.signal, w.slot);
        const answer = this.poll(w, job);
        if (answer) {
          collect(w, answer.outcomes);
          break;
        }
        if (w.dead || Date.now() - w.busy.since > ANSWER_TIMEOUT_MS) {
          // Given up: this chunk is verified here; a late answer is discarded by its job number.
          const chunk = w.busy.chunk;
          w.busy = null;
          w.dead = true;
          results[chunk] = local(chunks[chunk]!);
          break;
        }
        Atomics.wait(this.signal, w.slot, seen, 200);
      }
    }
    return results.map((r, i) => r ?? local(chunks[i]!));
  }

  /** Reads one answer of `w` without blocking: marks readiness, returns an answer to `job`, drops stale ones. */
  private poll(w: PoolWorker, job: number): { outcomes: VerifyOutcome[] | null } | null {
    for (;;) {
      const received = receiveMessageOnPort(w.port);
      if (!received) return null;
      const answer = received.message as Answer;
      if ('failed' in answer) {
        w.dead = true;
        return null;
      }
      if ('ready' in answer) {
        w.ready = true;
        if (job === -1) return { outcomes: null };
        continue;
      }
      if (answer.job === job && w.busy?.job === job) return { outcomes: answer.outcomes };
    }
  }

  close(): Promise<void> {
    return Promise.all(this.workers.map((w) => w.worker.terminate())).then(() => undefined);
  }
}
