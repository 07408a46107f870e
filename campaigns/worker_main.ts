// One worker thread of a campaign pool (pool.ts): answers each request
// (a chunk of runs, or the shrink of a new signature's first run) with its
// result, one at a time, for any campaign spec it is sent.

import { parentPort } from 'node:worker_threads';
import { ctxCache, runChunk, shrinkHit, type CampaignSpec, type Hit } from './campaign.js';

export type Body = { spec: CampaignSpec } & ({ kind: 'chunk'; from: number; to: number } | { kind: 'shrink'; hit: Hit });
export type Request = { id: number } & Body;
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string };

const ctxs = ctxCache();
const port = parentPort!;

port.on('message', async (req: Request) => {
  try {
    const ctx = await ctxs.get(req.spec);
    const value = req.kind === 'chunk' ? runChunk(ctx, req.from, req.to) : shrinkHit(ctx, req.hit);
    port.postMessage({ id: req.id, ok: true, value } satisfies Reply);
  } catch (e) {
    port.postMessage({ id: req.id, ok: false, name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) } satisfies Reply);
  }
});
port.postMessage({ ready: true });
