// --jobs N: N worker threads (worker.js) executing the chunks and shrinks
// of campaigns (campaign.ts). Shrinks go before chunks, so findings are
// saved early; the order things run in never changes a result.
//
// The pool outlives one campaign (a matrix runs many, and tests call the
// CLI in-process many times): idle workers are unref'd so they never keep
// the process alive, and a worker with a request under way is ref'd so
// the process waits for its answer.

import { Worker } from 'node:worker_threads';
import type { CampaignSpec, ChunkResult, Executor, Hit, Shrunk } from './campaign.js';
import { Stopped } from './campaign.js';
import type { Body, Reply, Request } from './worker_main.js';

type Task = { req: Request; resolve: (v: unknown) => void; reject: (e: unknown) => void };

interface Slot {
  worker: Worker;
  task: Task | null;
}

export class WorkerError extends Error {}

export class WorkerPool implements Executor {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  stopped = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { stdout: false, stderr: false });
    const slot: Slot = { worker, task: null };
    worker.unref();
    worker.on('message', (m: Reply | { ready: true }) => {
      if (!('id' in m)) return;
      const t = slot.task;
      if (!t || t.req.id !== m.id) return;
      slot.task = null;
      worker.unref();
      if (m.ok) t.resolve(m.value);
      else {
        const e = new Error(m.message);
        e.name = m.name;
        t.reject(e);
      }
      this.dispatch();
    });
    const dead = (e: Error) => {
      if (this.stopped) return;
      const t = slot.task;
      slot.task = null;
      t?.reject(new WorkerError(`a worker thread stopped: ${e.message}`));
      this.stop(); // a campaign missing a worker's answers cannot be completed: give up cleanly
    };
    worker.on('error', dead);
    worker.on('exit', (code) => dead(new Error(`exit code ${code}`)));
    return slot;
  }

  private submit<T>(req: Body, urgent: boolean): Promise<T> {
    if (this.stopped) return Promise.reject(new Stopped('stopped'));
    return new Promise<T>((resolve, reject) => {
      const t: Task = { req: { ...req, id: this.nextId++ }, resolve: resolve as (v: unknown) => void, reject };
      if (urgent) {
        const at = this.queue.findIndex((q) => q.req.kind !== 'shrink');
        this.queue.splice(at < 0 ? this.queue.length : at, 0, t);
      } else this.queue.push(t);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const s of this.slots) {
      if (s.task || this.queue.length === 0) continue;
      const t = this.queue.shift()!;
      s.task = t;
      s.worker.ref();
      s.worker.postMessage(t.req);
    }
  }

  chunk(spec: CampaignSpec, from: number, to: number): Promise<ChunkResult> {
    return this.submit({ kind: 'chunk', spec, from, to }, false);
  }

  shrink(spec: CampaignSpec, hit: Hit): Promise<Shrunk> {
    return this.submit({ kind: 'shrink', spec, hit }, true);
  }

  /** Terminate every worker (a shrink under way is abandoned) and reject what is pending. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (shared === this) shared = null;
    const pending = [...this.slots.map((s) => s.task).filter((t): t is Task => t !== null), ...this.queue.splice(0)];
    for (const s of this.slots) {
      s.task = null;
      void s.worker.terminate();
    }
    for (const t of pending) t.reject(new Stopped('stopped'));
  }
}

let shared: WorkerPool | null = null;

/** The process's pool of `n` workers, started on first use and kept for the next campaign. */
export function sharedPool(n: number): WorkerPool {
  if (shared && shared.size !== n) shared.stop();
  if (!shared || shared.stopped) shared = new WorkerPool(n);
  return shared;
}
