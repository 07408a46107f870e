import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { signatureOf } from '../properties/signature.js';
import { anon, madvise, proc, read, scenario, thread, until, run } from '../test/build.js';
import noNestedFlush from '../variants/no-nested-flush.js';
import { shrink } from './pipeline.js';
import { splitCandidates } from './split.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;

describe('splitting a thread', () => {
  it('moves the tail of a thread to a new thread of the same process and CPU, next to it or last', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))] });
    expect(splitCandidates(sc).map((c) => c.scenario.threads)).toEqual([
      [thread('T0', 'P0', 0, read(X)), thread('T2', 'P0', 0, madvise(X)), thread('T1', 'P0', 1, madvise(X))],
      [thread('T0', 'P0', 0, read(X)), thread('T1', 'P0', 1, madvise(X)), thread('T2', 'P0', 0, madvise(X))],
    ]);
  });

  it('is taken when the fallback order then races without schedule entries', () => {
    // B3 needs T0's madvise stopped after its zap while T1's madvise runs: two entries in one thread, none in two.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, read(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
      schedule: [until('T0', 'zap_pte_range.pte_unmap_unlock'), run('T1')],
    });
    const policy = applyVariant(linux, noNestedFlush);
    const sig = signatureOf(runScenario(sc, { policy, properties: PROPERTIES }))!;
    const out = shrink(sc, policy, sig);
    expect(out.size.ops).toBe(3);
    expect(out.size.entries).toBe(0);
    expect(out.scenario.threads.map((t) => [t.cpu, t.ops])).toEqual([[0, [read(X)]], [1, [madvise(X)]], [0, [madvise(X)]]]);
  });
});
