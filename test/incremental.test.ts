// The incremental checks against the full ones they stand for (issue 13):
// the properties that carry the page tables' reach or the frames' contents
// from step to step (properties/reach_cache.ts) and lock-discipline's skipped cycle search
// run beside their reference, the same property recomputing everything,
// after every step of seeded runs on every policy and every kept mutant;
// their verdicts, and the ghost memory later verdicts are computed from,
// must agree at every step. A broken incremental variant
// (a state key that leaves out the entries; an order comparison that
// looks at the classes only) must be caught by the same comparison.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSeeds, scenarioDrawer } from '../campaigns/fuzz.js';
import type { KernelState } from '../model/kernel/state.js';
import { loadVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName, POLICIES } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import type { Check, CheckContext, Finding } from '../model/run/check.js';
import { runScenario } from '../model/run/runner.js';
import { lockDiscipline, lockDisciplineWith, sameOrder } from '../properties/lock_discipline.js';
import { noFreedFrameReachableWith } from '../properties/no_freed_frame_reachable.js';
import { noFreedTableReachableWith } from '../properties/no_freed_table_reachable.js';
import { noStalePscAfterUnlinkWith } from '../properties/no_stale_psc_after_unlink.js';
import type { Property } from '../properties/property.js';
import { fullReach, incrementalReach, type Reach, type TablesKey, upperKey } from '../properties/reach_cache.js';
import { PROPERTIES } from '../properties/registry.js';
import { sharedTableFlushWith } from '../properties/shared_table_flush.js';

interface Mismatch {
  property: string;
  step: number;
  incremental: Finding | null;
  full: Finding | null;
}

/**
 * What a property's verdicts at later steps are computed from, in its ghost
 * memory: the links and the lost links (no-stale-psc-after-unlink), the
 * shared tables' snapshot, in the fields compared, and what is owed
 * (shared-table-flush), the last acyclic order (lock-discipline, where
 * the reference keeps none: not compared).
 */
function ghostOf(id: string, mem: Record<string, unknown>): string {
  if (id === 'no-stale-psc-after-unlink') return JSON.stringify([[...((mem.links as Map<string, unknown>) ?? new Map()).keys()].sort(), mem.lost]);
  if (id === 'shared-table-flush') {
    const snap = [...((mem.snap as Map<number, { ghost: number; level: number; by: unknown; entries: ({ pfn: number; ghost: number } | null)[] }>) ?? new Map())];
    return JSON.stringify([snap.map(([pfn, t]) => [pfn, t.ghost, t.level, t.by, t.entries.map((e) => e && [e.pfn, e.ghost])]), mem.owed]);
  }
  return '';
}

/** One check that runs `inc` and `ref`, each with its own ghost memory, and records where their verdicts or ghost memories differ; the run goes on by `inc`'s. */
function paired(inc: Property, ref: Property, out: Mismatch[]): Check {
  return {
    id: inc.id,
    check(ctx: CheckContext) {
      const memA = ((ctx.mem.inc as Record<string, unknown> | undefined) ??= {});
      const memB = ((ctx.mem.ref as Record<string, unknown> | undefined) ??= {});
      const a = inc.check({ ...ctx, mem: memA });
      const b = ref.check({ ...ctx, mem: memB });
      if (JSON.stringify(a) !== JSON.stringify(b) || ghostOf(inc.id, memA) !== ghostOf(inc.id, memB)) out.push({ property: inc.id, step: ctx.event.n, incremental: a, full: b });
      return a;
    },
  };
}

/** The registry's properties, the incremental ones paired with their references. */
function pairedProperties(reach: Reach, same: typeof sameOrder, out: Mismatch[]): Check[] {
  const pairs: Record<string, [Property, Property]> = {
    'no-stale-psc-after-unlink': [noStalePscAfterUnlinkWith(reach), noStalePscAfterUnlinkWith(fullReach)],
    'shared-table-flush': [sharedTableFlushWith(reach), sharedTableFlushWith(fullReach)],
    'lock-discipline': [lockDisciplineWith(same), lockDisciplineWith(() => false)],
    'no-freed-frame-reachable': [noFreedFrameReachableWith(reach), noFreedFrameReachableWith(fullReach)],
    'no-freed-table-reachable': [noFreedTableReachableWith(reach), noFreedTableReachableWith(fullReach)],
  };
  return PROPERTIES.map((p) => (pairs[p.id] ? paired(pairs[p.id]![0], pairs[p.id]![1], out) : p));
}

async function policies(): Promise<{ name: string; policy: Policy; runs: number }[]> {
  const out = POLICIES.map((p) => ({ name: p.name, policy: p, runs: p.name === 'linux' ? 120 : 30 }));
  for (const f of readdirSync('variants').filter((x) => x.endsWith('.ts')).sort()) {
    const v = await loadVariant(`variants/${f}`);
    out.push({ name: f, policy: applyVariant(policyByName(v.spec.policy ?? 'linux')!, v.spec), runs: 12 });
  }
  return out;
}

/** Seeded runs of every policy and kept mutant with the paired checks; what differed, and how many runs found something. */
async function compare(reach: Reach, same: typeof sameOrder) {
  const mismatches: (Mismatch & { policy: string; run: number })[] = [];
  let steps = 0;
  let violations = 0;
  for (const { name, policy, runs } of await policies()) {
    const draw = scenarioDrawer(policy);
    const seeds = runSeeds('incremental');
    for (let i = 0; i < runs; i++) {
      const out: Mismatch[] = [];
      const r = runScenario(draw(seeds()), { policy, properties: pairedProperties(reach, same, out) });
      steps += r.steps;
      if (r.violation) violations++;
      mismatches.push(...out.map((m) => ({ ...m, policy: name, run: i })));
    }
  }
  return { mismatches, steps, violations };
}

/** A state key that sees the frames but not the entries in them: a new link to an existing table goes unnoticed. */
const framesOnly: TablesKey = (s: KernelState, out) => {
  let n = 0;
  for (const f of s.frames) {
    out[n++] = f.allocId;
    out[n++] = f.state === 'free' ? 0 : 1;
  }
  return n;
};

/** A full key that leaves out the PTEs (level-1 entries): a shared PTE table's change goes unnoticed. */
const noPtes: TablesKey = (s: KernelState, out) => {
  const n = upperKey(s, out);
  let m = n;
  for (const f of s.frames) {
    out[m++] = f.state === 'free' ? 0 : f.state === 'data' ? 1 : 2;
    out[m++] = f.allocId;
  }
  return m;
};

/** Compares the classes of the order graph, not their successors: a new edge between known classes goes unnoticed. */
const classesOnly: typeof sameOrder = (order, flat) => {
  if (!flat) return false;
  const classes: string[] = [];
  for (let i = 0; i < flat.length; i += 2 + Number(flat[i + 1])) classes.push(flat[i]!);
  return Object.keys(order).join() === classes.join();
};

describe('incremental checks against the full ones', () => {
  it('give the same verdict at every step of seeded runs on every policy and kept mutant', async () => {
    const r = await compare(incrementalReach(), sameOrder);
    expect(r.mismatches).toEqual([]);
    expect(r.steps).toBeGreaterThan(50_000); // the runs did run
    expect(r.violations).toBeGreaterThan(10); // and the mutants broke properties: findings were compared too
  }, 300_000);

  it('catch a reach cache whose state keys leave out the page-table entries', async () => {
    const r = await compare(incrementalReach(framesOnly, framesOnly), sameOrder);
    expect(r.mismatches.length).toBeGreaterThan(0);
    expect(new Set(r.mismatches.map((m) => m.property))).toContain('no-stale-psc-after-unlink');
  }, 300_000);

  it('catch a reach cache whose full key leaves out the PTEs', async () => {
    const r = await compare(incrementalReach(noPtes), sameOrder);
    expect(r.mismatches.length).toBeGreaterThan(0);
    expect(new Set(r.mismatches.map((m) => m.property))).toContain('shared-table-flush');
  }, 300_000);

  it('catch a lock-order comparison that looks at the classes only', () => {
    // one order graph growing over three steps, checked with one ghost memory, as a run does
    const at = (p: Property, mem: Record<string, unknown>, lockOrder: Record<string, string[]>) =>
      p.check({ s: { ghost: { lockOrder } } as unknown as KernelState, event: { notes: [] }, mem } as unknown as CheckContext);
    const steps: Record<string, string[]>[] = [{ mmap_lock: ['ptl'] }, { mmap_lock: ['ptl'], ptl: [] }, { mmap_lock: ['ptl'], ptl: ['mmap_lock'] }];
    const run = (p: Property) => {
      const mem = {};
      return steps.map((o) => at(p, mem, o)?.message ?? null);
    };
    const full = run(lockDisciplineWith(() => false));
    expect(full).toEqual([null, null, 'lock-class inversion mmap_lock -> ptl -> mmap_lock']);
    expect(run(lockDiscipline)).toEqual(full);
    expect(run(lockDisciplineWith(classesOnly))).toEqual([null, null, null]);
  });
});
