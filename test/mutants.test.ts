// Every property fails on a deliberately broken path, at the step that
// breaks it, and holds on `linux` for the same scenario.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant, type VariantSpec } from '../model/policies/variant.js';
import type { Policy } from '../model/policies/policy.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { propertyById } from '../properties/registry.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import noIpi from '../variants/no-ipi.js';
import skipLazy from '../variants/skip-lazy-on-table-free.js';
import pcidNoGenCheck from '../variants/pcid-no-gen-check.js';
import noNestedFlush from '../variants/no-nested-flush.js';
import cveNoFence from '../variants/cve-2025-37964-no-fence.js';
import preFea4e317f9e7 from '../variants/pre-fea4e317f9e7.js';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../reports/scenario_text.js';
import { anon, file, idle, madvise, mprotect, munmap, proc, read, run, scenario, shared, thread, until, write } from './build.js';
import { doubleUnlock, faultNeverMaps, gupFastTakesPtl, gupPtlDeadlock, neverMapsLivelock, reusedFrameRead, X, zapWhileCached, zapWithoutPtl } from './mutant_cases.js';
import { PROPERTIES } from '../properties/registry.js';

const Z = 0x20000;

function both(sc: Scenario, spec: VariantSpec, only?: string) {
  const properties = only ? [propertyById(only)!] : PROPERTIES;
  const broken: Policy = applyVariant(linux, spec);
  return { good: runScenario(sc, { policy: linux, properties }), bad: runScenario(sc, { policy: broken, properties }) };
}

describe('each property fails on a broken path and holds on linux', () => {
  it('no-freed-frame-reachable: pages freed before the flush in tlb_finish_mmu', () => {
    const { good, bad } = both(zapWhileCached(), freeBeforeFlush);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'tlb_batch_pages_flush', holder: 'TLB' });
  });

  it('read-value: the freed frame is reused and read through the stale entry', () => {
    const sc = reusedFrameRead();
    const { good, bad } = both(sc, freeBeforeFlush, 'read-value');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.tlb_hit' });
    expect(bad.violation!.message).toContain('value 2'); // T2's write, seen at X
  });

  it('unmap-complete: a flush that sends no IPI', () => {
    // a shared file page stays in the page cache, so only the stale entry is wrong
    const sc = scenario({
      setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F')],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, noIpi);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_madvise.return', holder: 'TLB' });
  });

  it('unmap-complete: the nested-gather full flush removed (B3)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')],
    });
    const { good, bad } = both(sc, noNestedFlush);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_madvise.return' });
  });

  it('protect-complete: a flush that sends no IPI', () => {
    const { good, bad } = both(zapWhileCached(mprotect(X, 1, 'r')), noIpi);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'protect-complete', actor: 'T0', stepId: 'sys_mprotect.return' });
  });

  it('no-freed-table-reachable: lazy CPUs skipped when tables are freed', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), idle)],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, skipLazy);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table', holder: 'PSC' });
    expect(bad.violation!.message).toContain('lazy');
  });

  it('no-freed-frame-reachable: a PCID slot reused without the tlb_gen check', () => {
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Z, 1)],
      // no table is freed, so CPU1 (running P1, its loaded_mm store drained) gets no IPI and P0's slot stays dormant
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), read(X)), thread('T2', 'P1', 1, read(Z))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T2'), run('sb@cpu1'), run('T0'), run('T1')],
    });
    const { good, bad } = both(sc, pcidNoGenCheck);
    expect(good.coverage.dormant_slot_reactivated).toBe(1);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T1', stepId: 'load_new_mm_cr3.noflush' });
  });

  it('lock-discipline: zap_pte_range without the PTL', () => {
    const { good, bad } = both(zapWhileCached(), zapWithoutPtl);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'lock-discipline', actor: 'T0', stepId: 'zap_pte_range.clear' });
    expect(bad.violation!.message).toContain('without ptl:');
  });

  it('no-deadlock: GUP-fast spinning on the PTL with IRQs off while the zap flushes under it', () => {
    const { good, bad } = both(gupPtlDeadlock(), gupFastTakesPtl);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-deadlock' });
    expect(bad.violation!.message).toMatch(/deadlock: .*T0 waits for IPI completion on CPU1.*T1 waits for ptl:/);
  });

  it('progress: a fault handler that never installs the PTE livelocks the access', () => {
    const { good, bad } = both(neverMapsLivelock(), faultNeverMaps);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'progress', step: 300 });
  });
});

describe('model errors are kept apart from violations', () => {
  it('reports a broken model as a model error, not a kernel violation', () => {
    const r = runScenario(zapWhileCached(), { policy: applyVariant(linux, doubleUnlock), properties: PROPERTIES });
    expect(r.verdict).toBe('model-error');
    expect(r.violation).toBeNull();
    expect(r.error).toMatch(/releases ptl:\d+ it does not hold/);
  });
});

describe('x86-TSO: switch_mm_irqs_off against should_flush_tlb (CVE-2025-37964)', () => {
  // CPU1 switches back to P0 (its mm_cpumask bit still set) and has read tlb_gen when T0 zaps X.
  const switchBack = () => parseScenario(readFileSync('test/scenarios/cve-2025-37964-switch-back.txt', 'utf8'), 'cve-2025-37964-switch-back');

  it('without the smp_mb() of 83b0177a6c48 the buffered SWITCHING store is missed and a slot that missed the flush is reused', () => {
    const { good, bad } = both(switchBack(), cveNoFence);
    expect(good.verdict).toBe('pass');
    expect(good.trace.some((e) => e.actor === 'ipi@cpu1' && e.id === 'flush_tlb_func.check')).toBe(true); // linux: the flush saw SWITCHING
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T3', stepId: 'load_new_mm_cr3.noflush', holder: 'TLB' });
    expect(bad.coverage.store_buffer_reordering).toBe(1);
    const read = both(switchBack(), cveNoFence, 'read-value');
    expect(read.good.verdict).toBe('pass');
    expect(read.bad.violation).toMatchObject({ property: 'read-value', actor: 'T3', stepId: 'user_access.tlb_hit' });
  });

  it('without the LOADED_MM_SWITCHING check of fea4e317f9e7 a switching CPU is skipped even though the store is in memory', () => {
    const { good, bad } = both(switchBack(), preFea4e317f9e7);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T3', stepId: 'load_new_mm_cr3.noflush', holder: 'TLB' });
    expect(bad.coverage.store_buffer_reordering).toBe(0); // not a reordering: the check itself is missing
    const read = both(switchBack(), preFea4e317f9e7, 'read-value');
    expect(read.good.verdict).toBe('pass');
    expect(read.bad.violation).toMatchObject({ property: 'read-value', actor: 'T3', stepId: 'user_access.tlb_hit' });
  });
});
