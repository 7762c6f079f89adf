/**
 * An import worker: verifies chunks of a permit bundle (issuer signatures, tx hashes, the other
 * stateless checks) in parallel with the main thread. It answers on its own port and then bumps
 * its slot in the shared signal array, so the main thread can wait for it synchronously.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { verifyChunk, type VerificationSnapshot, type VerifyItem } from './parallel-verification';

interface WorkerData {
  port: MessagePort;
  signal: Int32Array;
  slot: number;
}

export interface VerifyJob {
  job: number;
  items: VerifyItem[];
  snapshot: VerificationSnapshot;
}

const { port, signal, slot } = workerData as WorkerData;

function answer(message: unknown): void {
  port.postMessage(message);
  Atomics.add(signal, slot, 1);
  Atomics.notify(signal, slot);
}

port.on('message', (job: VerifyJob) => {
  try {
    answer({ job: job.job, outcomes: verifyChunk(job.items, job.snapshot) });
  } catch {
    // The main thread verifies the chunk itself.
    answer({ job: job.job, outcomes: null });
  }
});
answer({ ready: true });
