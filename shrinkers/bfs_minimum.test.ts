import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { signatureOf } from '../properties/signature.js';
import { anon, madvise, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import { bfsMinimum, combinations, subScenario } from './bfs_minimum.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;
const Y = 0x11000;

describe('breadth-first minimum', () => {
  it('enumerates subsets by size in lexicographic order', () => {
    expect([...combinations(4, 2)]).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    expect([...combinations(3, 0)]).toEqual([[]]);
    expect([...combinations(2, 3)]).toEqual([]);
  });

  it('keeps thread structure and drops threads left without operations, with their entries', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), read(Y)), thread('T1', 'P0', 1, madvise(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1')],
      choices: [{ actor: 'T1', point: 'zap_pte_range.batch_full', nth: 0 }],
    });
    const sub = subScenario(sc, new Set([1]));
    expect(sub.threads).toEqual([thread('T0', 'P0', 0, read(Y))]);
    expect(sub.schedule).toEqual([until('T0', 'user_access.walk')]);
    expect(sub.choices).toEqual([]);
  });

  it('finds the fewest operations first, whatever the order they come in', () => {
    // The race needs T0's read and T1's madvise; T0's write and T1's read are noise.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(Y), read(X)), thread('T1', 'P0', 1, read(Y), madvise(X))],
    });
    const policy = applyVariant(linux, freeBeforeFlush);
    const sig = signatureOf(runScenario(sc, { policy, properties: PROPERTIES }))!;
    const m = bfsMinimum(sc, policy, sig)!;
    expect(m.size.ops).toBe(2);
    expect(m.scenario.threads.flatMap((t) => t.ops)).toEqual([read(X), madvise(X)]);
    expect(signatureOf(runScenario(m.scenario, { policy, properties: PROPERTIES }))).toBe(sig);
  });

  it('says no when no sub-scenario reproduces', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X), madvise(X))] });
    expect(bfsMinimum(sc, linux, 'no-freed-frame-reachable|TLB|tlb_batch_pages_flush')).toBeNull();
  });
});
