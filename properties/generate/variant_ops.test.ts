// campaignOps(): a variant that edits a path only an opt-in kind enters is
// fuzzed with that kind, and OPT_IN_PATHS is what it claims: under the
// default kinds no listed path runs, and with its kind every one does.

import { describe, expect, it } from 'vitest';
import { runSeeds, scenarioDrawer } from '../../campaigns/fuzz.js';
import { linux } from '../../model/policies/linux.js';
import { MSHARE_2026 } from '../../model/policies/mshare.js';
import { applyVariant, defineVariant } from '../../model/policies/variant.js';
import { runScenario } from '../../model/run/runner.js';
import { DECISION_IDS } from '../../model/kernel/decisions.js';
import { opKindsFor } from './scenario_arb.js';
import { addedKindsLine, campaignOps, OPT_IN_PATHS, OPT_IN_STEPS, OPT_IN_WITH, type OptInKind } from './variant_ops.js';

/** A variant that "edits" the first step of each path of `kind` by putting the same body back: it changes nothing, and its edits record when each path ran. */
const touching = (kind: OptInKind) =>
  applyVariant(
    linux,
    defineVariant({
      name: `touch-${kind}`,
      description: 'test',
      edit: (v) => {
        for (const path of OPT_IN_PATHS[kind]) {
          const first = linux.paths[path]![0]!;
          v.replace(first.id, first.fn);
        }
        return v;
      },
    }),
  );

/** Which of the policy's edits some run executed, over `runs` drawn runs of `ops` (fewer once `enough` says so). */
function editsExecuted(p: ReturnType<typeof touching>, ops: Parameters<typeof scenarioDrawer>[1], runs: number, enough = () => false): Set<number> {
  const draw = scenarioDrawer(p, ops);
  const next = runSeeds(`variant-ops/${p.name}/${ops!.length}`);
  const seen = new Set<number>();
  for (let i = 0; i < runs && !enough(); i++) for (const e of runScenario(draw(next()), { policy: p, properties: [] }).editsRun ?? []) seen.add(e);
  return seen;
}

describe('campaignOps', () => {
  it('adds no kind for a registry policy or a variant that edits shared paths only', () => {
    expect(campaignOps(linux)).toEqual({ ops: opKindsFor(null), added: [] });
    const shared = applyVariant(linux, defineVariant({ name: 's', description: 'test', edit: (v) => v.drop('tlb_flush_mmu_tlbonly') }));
    expect(campaignOps(shared).added).toEqual([]);
  });

  it('adds fork for an edit of copy_pte_range, vm for one within a KVM path, and names the paths', () => {
    const fork = applyVariant(linux, defineVariant({ name: 'f', description: 'test', edit: (v) => v.drop('copy_pte_range.pte_alloc') }));
    expect(campaignOps(fork)).toEqual({ ops: [...opKindsFor(null), 'fork'], added: [{ kind: 'fork', because: ['copy_pte_range'] }] });
    // a shared step edited for one caller: the caller's path decides
    const kvm = applyVariant(linux, defineVariant({ name: 'k', description: 'test', edit: (v) => v.drop('tlb_flush_mmu_tlbonly', { within: 'kvm_mmu_notifier_invalidate_range_start' }) }));
    expect(campaignOps(kvm).added).toEqual([{ kind: 'vm', because: ['kvm_mmu_notifier_invalidate_range_start'] }]);
    expect(addedKindsLine(campaignOps(kvm).added)).toBe('ops: vm added (the variant edits kvm_mmu_notifier_invalidate_range_start); give --ops to choose the kinds yourself');
  });

  it('adds an opt-in kind to an mshare policy only if it accepts it: fork (a sharer forks, model 0.13.0), not reclaim', () => {
    const fork = applyVariant(MSHARE_2026, defineVariant({ name: 'f', description: 'test', edit: (v) => v.drop('copy_pte_range.pte_alloc') }));
    expect(campaignOps(fork)).toEqual({ ops: [...opKindsFor(MSHARE_2026.mshare), 'fork'], added: [{ kind: 'fork', because: ['copy_pte_range'] }] });
    const reclaim = applyVariant(MSHARE_2026, defineVariant({ name: 'r', description: 'test', edit: (v) => v.replace(linux.paths['shrink_folio_list']![0]!.id, linux.paths['shrink_folio_list']![0]!.fn) }));
    expect(campaignOps(reclaim)).toEqual({ ops: opKindsFor(MSHARE_2026.mshare), added: [] });
  });

  for (const kind of Object.keys(OPT_IN_PATHS) as OptInKind[]) {
    it(`${kind}: no listed path runs under the default kinds, and every one runs once the variant adds ${kind}`, () => {
      const p = touching(kind);
      expect(campaignOps(p).added.map((a) => a.kind)).toEqual([kind, ...(OPT_IN_WITH[kind] ?? [])]);
      expect([...editsExecuted(p, opKindsFor(null), 300)]).toEqual([]);
      const withKind = editsExecuted(p, campaignOps(p).ops, 600);
      expect(OPT_IN_PATHS[kind].filter((_, i) => !withKind.has(i))).toEqual([]);
    });
  }

  // OPT_IN_STEPS: each listed step or decision point runs under the default kinds but finds nothing to act on
  it('reclaim: flush_tlb_batched_pending finds the halves of mm->tlb_flush_batched apart only once reclaim runs', () => {
    let apart = 0;
    const p = applyVariant(
      linux,
      defineVariant({
        name: 'watch-batched',
        description: 'test',
        edit: (v) => {
          for (const id of OPT_IN_STEPS.reclaim) {
            const orig = Object.values(linux.paths).flat().find((st) => st.id === id)!;
            v.replace(id, function* (k, c: { mm: string }) {
              const b = k.s.mms[c.mm]!.tlbFlushBatched;
              if (b.pending !== b.flushed) apart++;
              return yield* orig.fn(k, c);
            });
          }
          return v;
        },
      }),
    );
    expect(campaignOps(p).added).toEqual([{ kind: 'reclaim', because: [...OPT_IN_STEPS.reclaim] }]);
    expect(editsExecuted(p, opKindsFor(null), 300).size).toBe(2); // both steps run under the default kinds...
    expect(apart).toBe(0); // ...and never have anything to flush
    editsExecuted(p, campaignOps(p).ops, 600);
    expect(apart).toBeGreaterThan(0);
  });

  // every decision point of OPT_IN_STEPS: under the default kinds it is never asked or always answers the same,
  // and with the kinds campaignOps adds for an edit of it, it answers otherwise at least once
  const decisions = [...new Set(Object.values(OPT_IN_STEPS).flat())].filter((id) => DECISION_IDS.has(id));
  for (const id of decisions) {
    it(`decision ${id} is settled under the default kinds and open with the kinds an edit of it adds`, () => {
      let values: boolean[] = [];
      const p = applyVariant(linux, defineVariant({ name: 'watch', description: 'test', edit: (v) => v.decide(id, (_k, value) => (values.push(value), value)) }));
      const kinds = campaignOps(p).added.filter((a) => a.because.length > 0).map((a) => a.kind).sort(); // not the kinds added only to make another observable (OPT_IN_WITH)
      expect(kinds).toEqual((Object.keys(OPT_IN_STEPS) as OptInKind[]).filter((k) => OPT_IN_STEPS[k].includes(id)).sort());
      editsExecuted(p, opKindsFor(null), 300);
      const settled = new Set(values);
      expect(settled.size).toBeLessThanOrEqual(1);
      values = [];
      const open = () => values.some((x) => !settled.has(x));
      editsExecuted(p, campaignOps(p).ops, 1500, open);
      expect(open()).toBe(true);
    });
  }

  it('madv_free: reclaim\'s lazyfree check is asked only once MADV_FREE runs, and the kind brings reclaim with it', () => {
    let asked = 0;
    const p = applyVariant(linux, defineVariant({ name: 'watch-lazyfree', description: 'test', edit: (v) => v.decide('try_to_unmap_one.lazyfree_dirty', (_k, value) => ((asked += 1), value)) }));
    expect(campaignOps(p).added).toEqual([{ kind: 'madv_free', because: ['try_to_unmap_one.lazyfree_dirty'] }, { kind: 'reclaim', because: [], with: 'madv_free' }]);
    expect(addedKindsLine(campaignOps(p).added)).toBe('ops: madv_free added (the variant edits try_to_unmap_one.lazyfree_dirty); reclaim added (with madv_free, which needs it); give --ops to choose the kinds yourself');
    editsExecuted(p, [...opKindsFor(null), 'reclaim'], 300); // reclaim alone: no lazyfree folio to check
    expect(asked).toBe(0);
    editsExecuted(p, campaignOps(p).ops, 600);
    expect(asked).toBeGreaterThan(0);
  });
});
