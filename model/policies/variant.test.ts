// The variant API's edit points (issue 14 item 3): per-call-site edits,
// moves across paths, inserted steps named under the variant, and the
// record of which edits a run executed.

import { describe, expect, it } from 'vitest';
import { madvise, munmap } from '../../test/build.js';
import { X, zapWhileCached } from '../../test/mutant_cases.js';
import { runScenario } from '../run/runner.js';
import { PROPERTIES } from '../../properties/registry.js';
import { linux } from './linux.js';
import { stepIndex } from './policy.js';
import { applyVariant, defineVariant, VariantError } from './variant.js';

const run = (spec: Parameters<typeof applyVariant>[1], op = madvise(X)) => runScenario(zapWhileCached(op), { policy: applyVariant(linux, spec), properties: PROPERTIES });

// tlb_flush_mmu_tlbonly() is shared: munmap, MADV_DONTNEED, mprotect, NUMA and exit all flush their gather with it
const noFlushUnder = (caller: string) => defineVariant({ name: `no-flush-under-${caller}`, description: 'test', edit: (v) => v.drop('tlb_flush_mmu_tlbonly', { within: caller }) });

describe('per-call-site edits (within)', () => {
  it("drops a shared step for one caller only: MADV_DONTNEED's gather loses its flush, munmap's keeps it", () => {
    const dontneed = noFlushUnder('madvise_dontneed');
    const viaMadvise = run(dontneed, madvise(X));
    expect(viaMadvise.verdict).toBe('violation');
    expect(viaMadvise.editsRun).toEqual([0]);
    const viaMunmap = run(dontneed, munmap(X));
    expect(viaMunmap.verdict).toBe('pass');
    expect(viaMunmap.trace.map((e) => e.id)).toContain('flush_tlb_mm_range.inc_mm_tlb_gen'); // munmap still flushed its gather
    expect(viaMunmap.editsRun).toEqual([]); // and the run says the edit never executed
  });

  it('the unscoped drop breaks both callers', () => {
    const everywhere = defineVariant({ name: 'no-flush', description: 'test', edit: (v) => v.drop('tlb_flush_mmu_tlbonly') });
    expect(run(everywhere, madvise(X)).verdict).toBe('violation');
    expect(run(everywhere, munmap(X)).verdict).toBe('violation');
  });

  it('replace within one caller runs the original body for the others', () => {
    const spec = defineVariant({ name: 'r', description: 'test', edit: (v) => v.replace('tlb_flush_mmu_tlbonly', function* () {}, { within: 'munmap' }) });
    expect(run(spec, madvise(X)).verdict).toBe('pass');
    expect(run(spec, munmap(X)).verdict).toBe('violation');
  });

  it('refuses an unknown caller and the path that holds the step', () => {
    expect(() => applyVariant(linux, noFlushUnder('madvise_dontneeed'))).toThrow(VariantError);
    expect(() => applyVariant(linux, noFlushUnder('madvise_dontneeed'))).toThrow(/no path 'madvise_dontneeed' for within.*madvise_dontneed/);
    expect(() => applyVariant(linux, noFlushUnder('tlb_flush_mmu_tlbonly'))).toThrow(/a step of tlb_flush_mmu_tlbonly itself/);
  });
});

describe('move across paths', () => {
  const across = (opts?: { acrossPaths: boolean }) =>
    defineVariant({ name: 'm', description: 'test', edit: (v) => v.move('tlb_finish_mmu.free', { before: 'zap_pte_range.tlb_flush_mmu' }, opts) });

  it('is refused unless asked for, since the step then runs with the other path\'s locals', () => {
    expect(() => applyVariant(linux, across())).toThrow(/without \{ acrossPaths: true \}/);
  });

  it('with acrossPaths the step leaves its path and runs in the other', () => {
    const p = applyVariant(linux, across({ acrossPaths: true }));
    expect(stepIndex(p).get('tlb_finish_mmu.free')).toBe('zap_pte_range');
    const r = runScenario(zapWhileCached(), { policy: p, properties: PROPERTIES });
    expect(r.violation?.property).toBe('no-freed-frame-reachable'); // pages freed before the forced flush
    expect(r.editsRun).toEqual([0]);
  });
});

describe('inserted steps are named under the variant', () => {
  const extra = defineVariant({
    name: 'extra-flush',
    description: 'test',
    edit: (v) =>
      v.insertAfter('tlb_finish_mmu.flush', {
        id: 'tlb_finish_mmu.again',
        fn: function* (k) {
          yield { id: 'tlb_finish_mmu.again' };
          yield* k.run('tlb_flush_mmu_free', {}); // a kernel path it calls keeps its own step ids
        },
      }),
  });

  it('its id and its own yields read "variant:id"; the kernel steps it runs keep theirs', () => {
    const p = applyVariant(linux, extra);
    expect(stepIndex(p).has('extra-flush:tlb_finish_mmu.again')).toBe(true);
    expect(stepIndex(p).has('tlb_finish_mmu.again')).toBe(false);
    const r = runScenario(zapWhileCached(), { policy: p, properties: PROPERTIES });
    const ids = r.trace.map((e) => e.id);
    const at = ids.indexOf('extra-flush:tlb_finish_mmu.again');
    expect(at).toBeGreaterThan(-1);
    expect(ids).not.toContain('tlb_finish_mmu.again');
    expect(ids[at + 1]).toBe('tlb_batch_pages_flush'); // tlb_flush_mmu_free()'s own step, after the flush: the pages go here
    expect(r.editsRun).toEqual([0]);
  });
});

describe('which edits a run executed', () => {
  it('counts a decision override when the point is asked, a drop when its path runs', () => {
    const spec = defineVariant({
      name: 'two',
      description: 'test',
      edit: (v) => v.decide('native_flush_tlb_multi.freed_tables', (_k, x) => x).drop('change_pte_range.flush_tlb_batched_pending'),
    });
    const p = applyVariant(linux, spec);
    expect(p.edits?.map((e) => e.text)).toEqual(['decide native_flush_tlb_multi.freed_tables', 'drop change_pte_range.flush_tlb_batched_pending']);
    const r = runScenario(zapWhileCached(), { policy: p, properties: PROPERTIES });
    expect(r.editsRun).toEqual([0]); // the zap asked the IPI decision; no mprotect ran change_pte_range
  });

  it('a registry policy records nothing', () => {
    expect(runScenario(zapWhileCached(), { policy: linux, properties: PROPERTIES }).editsRun).toBeUndefined();
  });
});
