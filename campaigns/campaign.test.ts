// The campaign core (campaign.ts): chunks folded in run order whatever
// order they complete in; the same result on this thread, on worker
// threads and synchronously; the matrix on workers equal to the matrix
// computed in line.

import { describe, expect, it } from 'vitest';
import { emptyCoverage } from '../model/run/coverage.js';
import { policyByName } from '../model/policies/registry.js';
import { opKindsFor } from '../properties/generate/scenario_arb.js';
import { propertyById } from '../properties/registry.js';
import { ctxCache, inProcess, makeCtx, runCampaign, runCampaignSync, Tally, type CampaignSpec, type ChunkResult } from './campaign.js';
import { computeMatrix, computeMatrixOn } from './matrix.js';
import { WorkerPool } from './pool.js';

const chunk = (from: number, to: number, hits: [number, string][]): ChunkResult => ({ from, to, steps: to - from, coverage: emptyCoverage(), hits: hits.map(([index, signature]) => ({ index, runSeed: index, signature })) });

describe('Tally', () => {
  it('folds chunks in run order only, and reports each new signature at its lowest run', () => {
    const t = new Tally(0, new Set(['known']));
    expect(t.add(chunk(10, 20, [[12, 'a'], [15, 'b']]))).toEqual([]); // waits for 0..9
    expect(t.runs).toBe(0);
    const fresh = t.add(chunk(0, 10, [[3, 'b'], [4, 'known']]));
    expect(fresh.map((h) => [h.index, h.signature])).toEqual([[3, 'b'], [12, 'a']]);
    expect(t.runs).toBe(20);
    expect(t.steps).toBe(20);
    expect(t.list().map((s) => [s.signature, s.count, s.first.index, s.skipped])).toEqual([
      ['b', 2, 3, false],
      ['known', 1, 4, true],
      ['a', 1, 12, false],
    ]);
  });
});

describe('runCampaign', () => {
  const policy = policyByName('mshare-v2')!;
  const spec: CampaignSpec = { policy: 'mshare-v2', variant: null, properties: null, ops: opKindsFor(policy.mshare), seed: 'campaign-core', skip: [] };
  const strip = (r: { findings: { cx: unknown }[] }) => JSON.stringify({ ...r, findings: r.findings.map((f) => f.cx) });

  it('gives the same result on this thread, on two worker threads and synchronously', async () => {
    const sync = runCampaignSync(makeCtx(spec, policy, null), 0, 60);
    expect(sync.runs).toBe(60);
    expect(sync.findings.length).toBeGreaterThan(0);
    expect(sync.findings.map((f) => f.index)).toEqual([...sync.findings.map((f) => f.index)].sort((a, b) => a - b));
    const seen: number[] = [];
    const here = await runCampaign(inProcess(ctxCache().get), spec, { lo: 0, hi: 60, onFinding: (f) => void seen.push(f.index) });
    expect(strip(here)).toBe(strip(sync));
    expect(seen).toEqual(sync.findings.map((f) => f.index)); // handed on in run order
    const pool = new WorkerPool(2);
    try {
      expect(strip(await runCampaign(pool, spec, { lo: 0, hi: 60 }))).toBe(strip(sync));
      // the matrix on the same workers
      const o = { policies: [policy], properties: [propertyById('lock-discipline')!, propertyById('unmap-complete')!], seed: 'campaign-core', runsPerCell: 40 };
      const inline = computeMatrix(o);
      const onPool = await computeMatrixOn(pool, o);
      expect(JSON.stringify(onPool)).toBe(JSON.stringify(inline));
      expect(inline.cells.some((c) => c.found.length > 0)).toBe(true);
    } finally {
      pool.stop();
    }
  });

  it('stops when aborted, with what was folded so far', async () => {
    const ac = new AbortController();
    const r = await runCampaign(inProcess(ctxCache().get), spec, {
      lo: 0,
      hi: 1_000_000,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.done >= 50) ac.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.runs).toBeGreaterThanOrEqual(50);
    expect(r.runs).toBeLessThan(1000);
    expect(r.runs % 25).toBe(0);
  });
});
