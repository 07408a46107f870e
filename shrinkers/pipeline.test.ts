import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { validateScenario } from '../model/run/validate.js';
import { signatureOf } from '../properties/signature.js';
import { anon, file, idle, madvise, mprotect, proc, read, run, scenario, shared, thread, write } from '../test/build.js';
import noIpi from '../variants/no-ipi.js';
import { bfsMinimum } from './bfs_minimum.js';
import { candidates, GROUPS, renameSchedule } from './deletions.js';
import { Oracle } from './oracle.js';
import { shrink, ShrinkError, type ShrinkResult } from './pipeline.js';
import { searchSchedule } from './schedule_search.js';
import { opCount } from './size.js';
import { untilForm } from './until_form.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;
const Y = 0x11000;
const Z = 0x50000;

// The no-ipi race (a page freed while another CPU still caches it),
// buried in noise: an unrelated process on a file, extra operations,
// a third CPU, a second page and a schedule in step counts.
const padded = scenario({
  config: { cpus: 3, pcids: 2 },
  setup: [proc('Q'), proc('R'), file('G', 2), anon('R', X, 2), shared('Q', Z, 2, 'G')],
  threads: [
    thread('A', 'Q', 2, read(Z), write(Z)),
    thread('B', 'R', 1, read(Y), write(X), mprotect(Y, 1, 'r'), read(X)),
    thread('C', 'R', 2, idle, read(X), madvise(X, 2), read(Y)),
  ],
  schedule: [run('B', 30), run('A', 5), run('C')],
});
const policy = applyVariant(linux, noIpi);
const sig = signatureOf(runScenario(padded, { policy, properties: PROPERTIES }))!;

/** Every single deletion that keeps the signature under the same schedule search as the pipeline's. */
function removable(out: ShrinkResult, p: Policy, signature: string): string[] {
  const oracle = new Oracle(p, signature);
  const u = untilForm(out.scenario.schedule, out.result.trace);
  return GROUPS.flatMap((g) => candidates(out.scenario, g))
    .filter((c) => validateScenario(c.scenario) === null) // the pipeline never proposes what the tool would reject
    .filter((c) => searchSchedule(c.scenario, oracle, { hints: [renameSchedule(u, c.rename)] }) !== null)
    .map((c) => c.what);
}

describe('shrinking pipeline', () => {
  const out = shrink(padded, policy, sig);

  it('keeps the signature', () => {
    expect(sig).toBe('no-freed-frame-reachable|TLB|tlb_batch_pages_flush');
    expect(signatureOf(runScenario(out.scenario, { policy, properties: PROPERTIES }))).toBe(sig);
    expect(signatureOf(out.result)).toBe(sig);
    expect(out.complete).toBe(true);
  });

  it('is 1-minimal: no single thread, operation, setup item or CPU can go', () => {
    const singles = GROUPS.flatMap((g) => candidates(out.scenario, g));
    expect(singles.length).toBeGreaterThanOrEqual(out.scenario.threads.length + out.scenario.setup.length);
    expect(removable(out, policy, sig)).toEqual([]);
  });

  it('reaches the breadth-first minimum of its own output and of the input', () => {
    expect(out.size).toEqual(bfsMinimum(out.scenario, policy, sig)!.size);
    const m = bfsMinimum(padded, policy, sig)!;
    expect([out.size.ops, out.size.entries]).toEqual([m.size.ops, m.size.entries]);
  });

  it('renames canonically and drops what the race does not need', () => {
    expect(out.scenario.threads.map((t) => t.name)).toEqual(['T0', 'T1']);
    expect(out.scenario.setup).toEqual([proc('P0'), anon('P0', X, 1)]);
    expect(out.scenario.threads.map((t) => t.cpu).sort()).toEqual([0, 1]);
    expect(out.scenario.config.cpus ?? 2).toBe(2);
    expect(opCount(out.scenario)).toBe(2);
  });

  it('gives the same output for the same input', () => {
    expect(shrink(padded, policy, sig)).toEqual(out);
  });

  it('returns the best scenario so far when the time budget runs out', () => {
    // A clock that ticks once per look: the budget counts looks, so the cut is deterministic.
    const cutAt = (budgetMs: number) => {
      let t = 0;
      return shrink(padded, policy, sig, { budgetMs, now: () => t++ });
    };
    const early = cutAt(8);
    const later = cutAt(20);
    for (const cut of [early, later]) {
      expect(cut.complete).toBe(false);
      expect(signatureOf(runScenario(cut.scenario, { policy, properties: PROPERTIES }))).toBe(sig);
    }
    expect(early.size.ops).toBeLessThan(opCount(padded));
    expect(early.size.ops).toBeGreaterThan(later.size.ops);
    expect(later.size.ops).toBeGreaterThanOrEqual(out.size.ops);
    expect(cutAt(8)).toEqual(early);
  });

  it('refuses a scenario that does not reproduce the signature', () => {
    expect(() => shrink(padded, linux, sig)).toThrow(ShrinkError);
  });
});
