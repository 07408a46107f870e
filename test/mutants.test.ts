// Every property fails on a deliberately broken path, at the step that
// breaks it, and holds on `linux` for the same scenario.

import { readFileSync } from 'node:fs';
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
import firstStrideOnly from '../variants/first-stride-only.js';
import unmapShiftHighest from '../variants/unmap-shift-highest.js';
import tablesFreedAfterFlush from '../variants/tables-freed-after-flush.js';
import tableFreeNoSync from '../variants/table-free-no-sync.js';
import ptReclaimNoRcu from '../variants/pt-reclaim-no-rcu.js';
import ptReclaimFlushEnd from '../variants/pt-reclaim-flush-end.js';
import munmapNoVmaStartWrite from '../variants/munmap-no-vma-start-write.js';
import mprotectNoVmaStartWrite from '../variants/mprotect-no-vma-start-write.js';
import cveNoFence from '../variants/cve-2025-37964-no-fence.js';
import preFea4e317f9e7 from '../variants/pre-fea4e317f9e7.js';
import preA4a118f2eead from '../variants/pre-a4a118f2eead.js';
import pre8ce720d5bd91 from '../variants/pre-8ce720d5bd91.js';
import preB3UnshareNoLazyIpi from '../variants/pre-b3-unshare-no-lazy-ipi.js';
import unshareLeafOnlyFlush from '../variants/unshare-leaf-only-flush.js';
import unshareFlushAfterIMmap from '../variants/unshare-flush-after-i-mmap.js';
import { hugeFile, hugeMap, scenarioFile } from './build.js';
import pre3ea277194daa from '../variants/pre-3ea277194daa.js';
import reclaimFreeBeforeBatchFlush from '../variants/reclaim-free-before-batch-flush.js';
import relockNoBatchedFlush from '../variants/relock-no-batched-flush.js';
import tlbbatchNoTlbGen from '../variants/tlbbatch-no-tlb-gen.js';
import forkNoFlushTlbMm from '../variants/fork-no-flush-tlb-mm.js';
import wpPageCopyNoFlush from '../variants/wp-page-copy-no-flush.js';
import preFb49c455323f from '../variants/pre-fb49c455323f.js';
import pre20841405940e from '../variants/pre-20841405940e.js';
import migrateCopyBeforeFlush from '../variants/migrate-copy-before-flush.js';
import mprotectWritableMigrationEntry from '../variants/mprotect-writable-migration-entry.js';
import forkWritableMigrationEntry from '../variants/fork-writable-migration-entry.js';
import mremapNoVmaStartWrite from '../variants/mremap-no-vma-start-write.js';
import vmaLinkNoVmaStartWrite from '../variants/vma-link-no-vma-start-write.js';
import movePtesNoFlush from '../variants/move-ptes-no-flush.js';
import moveNormalPmdNoFlush from '../variants/move-normal-pmd-no-flush.js';
import preEb66ae030829 from '../variants/pre-eb66ae030829.js';
import pre97113eb39fa7 from '../variants/pre-97113eb39fa7.js';
import pre5ee2fa2f0636 from '../variants/pre-5ee2fa2f0636.js';
import pre6c8e2a256915 from '../variants/pre-6c8e2a256915.js';
import pre70e806e4e645 from '../variants/pre-70e806e4e645.js';
import { parseScenario } from '../reports/scenario_text.js';
import { anon, file, gup, idle, madvise, mprotect, munmap, proc, read, run, scenario, shared, thread, until, va, write } from './build.js';
import { doubleUnlock, faultNeverMaps, globalAsidUnmap, gupFastTakesPtl, gupPtlDeadlock, neverMapsLivelock, reusedFrameRead, X, zapWhileCached, zapWithoutPtl } from './mutant_cases.js';
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

describe('flush granularity (issue 9): a range flush that skips pages', () => {
  // P0 maps two pages of a shared file; T0 reads both (clean PTEs: no forced flush), T1 on CPU1 caches both,
  // then T0 munmaps both: one flush at tlb_finish_mmu over [0, X+2), the PUD table's base being 0
  const unmapTwoCached = () =>
    scenario({
      setup: [proc('P0'), file('F', 2), shared('P0', X, 2, 'F')],
      threads: [thread('T0', 'P0', 0, read(X), read(X + 0x1000), munmap(X, 2)), thread('T1', 'P0', 1, read(X), read(X + 0x1000))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });

  it('unmap-complete: flush_tlb_func stops after the first stride (variants/first-stride-only.ts)', () => {
    const { good, bad } = both(unmapTwoCached(), firstStrideOnly);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_munmap.return', holder: 'TLB' });
  });

  it('unmap-complete: tlb_get_unmap_shift takes the highest level cleared (variants/unmap-shift-highest.ts)', () => {
    const { good, bad } = both(unmapTwoCached(), unmapShiftHighest);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_munmap.return', holder: 'TLB' });
  });
});

describe('INVLPGB (issue 9): page-table lifetime rests on RCU once flushes send no IPI', () => {
  it('no-freed-table-reachable: tables freed right after a broadcast flush, no RCU (variants/tables-freed-after-flush.ts)', () => {
    const { good, bad } = both(globalAsidUnmap(1), tablesFreedAfterFlush);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'T0', stepId: 'tlb_batch_pages_flush', holder: 'walker' });
    // with IPIs the flush waits for the IRQs-off walker, which is what made pre-v6.14 x86 safe
    const ipis = both(globalAsidUnmap(0), tablesFreedAfterFlush);
    expect([ipis.good.verdict, ipis.bad.verdict]).toEqual(['pass', 'pass']);
  });

  it('no-freed-table-reachable: the tlb_remove_table_one() fallback frees without its synchronous IPI (variants/table-free-no-sync.ts)', () => {
    const fallback = (invlpgb: number) => {
      const sc = globalAsidUnmap(invlpgb);
      return { ...sc, config: { ...sc.config, ptReclaim: 0 }, choices: [...sc.choices, { actor: 'T0', point: 'tlb_remove_table.batch_alloc_fails', nth: 0 }] };
    };
    const { good, bad } = both(fallback(1), tableFreeNoSync);
    expect(good.verdict).toBe('pass');
    expect(good.trace.some((e) => e.actor === 'ipi@cpu1' && e.id === 'tlb_remove_table_smp_sync')).toBe(true); // the broadcast sent none, this IPI waited for the walker
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'T0', stepId: 'tlb_remove_table_one.__tlb_remove_table', holder: 'walker' });
    // when the flush is an IPI it already waited for the walker
    const ipis = both(fallback(0), tableFreeNoSync);
    expect([ipis.good.verdict, ipis.bad.verdict]).toEqual(['pass', 'pass']);
  });
});

describe('PT_RECLAIM mutants fail on a hand scenario and hold on linux', () => {
  it('no-freed-table-reachable: the reclaimed PTE table freed at once, without RCU after the flush (pt-reclaim-no-rcu)', () => {
    // T1 is inside the table with GUP-fast, IRQs off, when T0's DONTNEED reclaims it; CPU0's PSC still holds it too
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, gup(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'gup_fast_pte_range'), run('T0'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, ptReclaimNoRcu);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'T0', stepId: 'pte_free_tlb' });
  });

  it('no-freed-table-reachable: pte_free_tlb flushing one past the table, CVE-2026-74674 (pt-reclaim-flush-end)', () => {
    // X's table is already empty when the DONTNEED of all of it comes, so only pte_free_tlb() widens the
    // flush; CPU1 (running P0) walked X speculatively and caches the PMD entry pointing at the table.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 4), anon('P0', Z, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X), madvise(X, 4)), thread('T1', 'P0', 1, read(Z), read(Z))],
      speculation: [{ cpu: 1, vas: [va(X)] }],
      schedule: [until('T0', 'sys_madvise.return'), until('T1', 'exit_to_user_mode'), run('spec@cpu1'), run('T0')],
    });
    const { good, bad } = both(sc, ptReclaimFlushEnd);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table', holder: 'PSC' });
    expect(bad.violation!.message).toMatch(/^CPU1 .* caches a pte table at frame \d+, which is free/);
  });
});

describe('kept mutant munmap-no-vma-start-write: per-VMA locks without the writer side', () => {
  const Y1 = X + 0x1000;
  it('read-value: a fault that took the VMA lock before the detach maps the page after munmap returned', () => {
    // T0 holds X's VMA read lock (lock_vma_under_rcu) and stops; T1's munmap of X runs to its return.
    // On linux vma_start_write() waits for T0; without it T0 maps X into an unmapped range.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P0', 1, munmap(X))],
      schedule: [until('T0', 'lock_vma_under_rcu'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, munmapNoVmaStartWrite);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => `${e.actor} ${e.id}`)).toContain('T1 vms_gather_munmap_vmas.vma_start_write');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk', holder: 'ideal' });
    expect(bad.violation!.message).toContain('the reference allows SIGSEGV');
  });

  it("leaves the freed table to pte_offset_map_lock's re-check: the fault drops its page and SIGSEGV follows", () => {
    // T0 has its page and stops before the PTL; T1's munmap frees the PTE table under it
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), write(Y1)), thread('T1', 'P0', 1, munmap(X, 2))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'do_anonymous_page.alloc'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, munmapNoVmaStartWrite);
    expect(good.verdict).toBe('pass');
    expect(bad.verdict).toBe('pass');
    const t0 = bad.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(t0.filter((id) => id === 'do_anonymous_page.alloc').length).toBeGreaterThan(t0.filter((id) => id === 'do_anonymous_page.set_pte_at').length); // one allocation never mapped
    expect(bad.state.frames.filter((f) => f.lp.startsWith('anon:')).map((f) => f.state)).toEqual(['free', 'free']); // no page leaked
  });
});

describe('x86-TSO: switch_mm_irqs_off against should_flush_tlb (CVE-2025-37964)', () => {
  // CPU1 switches back to P0 (its mm_cpumask bit still set) and has read tlb_gen when T0 zaps X.
  const switchBack = () => scenarioFile('cve-2025-37964-switch-back');

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

describe('kept mutant mprotect-no-vma-start-write: mprotect without the per-VMA write lock', () => {
  it('protect-complete: a fault under the VMA read lock maps the page writable after change_pte_range passed it', () => {
    // T2's anonymous write fault on CPU1 runs under lock_vma_under_rcu() and makes its entry (VM_WRITE read in
    // do_anonymous_page(), before the PTL); T1's mprotect(PROT_READ) on CPU0: with vma_start_write() it waits for
    // T2's VMA lock, without it it changes vm_flags and passes the empty PTE, T2 then installs it rw and writes,
    // and mprotect returns with CPU1 caching a writable entry. (A file fault makes its entry under the PTL in
    // set_pte_range(), after mprotect_fixup() changed vm_flags: that race needs the anonymous path.)
    const sc = parseScenario(`config pcids=1
process P0
mmap P0 0x10000 pages=2 prot=rw
thread T1 P0 cpu=0
  mprotect 0x10000 pages=2 prot=r
thread T2 P0 cpu=1
  write 0x10000
schedule
  T2 until=do_anonymous_page.alloc
  T1 until=do_mprotect_pkey.mmap_write_unlock
  T2
  T1
`, 'mprotect-no-vma-start-write');
    const { good, bad } = both(sc, mprotectNoVmaStartWrite);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => `${e.actor} ${e.id}`)).toContain('T1 mprotect_fixup.vma_start_write');
    expect(bad.violation).toMatchObject({ property: 'protect-complete', actor: 'T1', stepId: 'sys_mprotect.return', holder: 'TLB' });
  });
});

// hugetlb PMD table sharing (model/kernel/paths/hugetlb.ts): P0 owns the PMD
// table of file H at HA, P1 maps the same file at HB and links it (huge_pmd_share).
describe('hugetlb PMD unsharing: each kept mutant fails, linux holds', () => {
  const HA = 192 << 12;
  const HB = 208 << 12;
  const shared2 = [hugeFile('H', 16), proc('P0'), proc('P1'), hugeMap('P0', HA, 'H'), hugeMap('P1', HB, 'H')];
  /** CPU1 goes lazy on P1 with P1's walk cache on the shared table; P1's MADV_DONTNEED unshares it (no table freed in P1); P0 then unmaps and frees it. */
  const lazyThenOwnerFrees = () =>
    scenario({
      setup: shared2,
      threads: [thread('T0', 'P0', 0, write(HA), munmap(HA, 16)), thread('T1', 'P1', 1, read(HB), idle), thread('T2', 'P1', 0, madvise(HB, 4))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T2'), run('ipi@cpu1'), run('T2'), run('T0'), run('ipi@cpu1'), run('T0'), run('rcu')],
    });

  it('pre-a4a118f2eead: an unshare records no flush range, so munmap returns with the huge TLB entry live (unmap-complete)', () => {
    const sc = scenario({ setup: shared2, threads: [thread('T0', 'P0', 0, write(HA)), thread('T1', 'P1', 1, read(HB), munmap(HB, 16))], schedule: [run('T0'), run('T1')] });
    const { good, bad } = both(sc, preA4a118f2eead);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T1', stepId: 'sys_munmap.return', holder: 'TLB' });
  });

  it('pre-b3-unshare-no-lazy-ipi: the unshare skips the lazy CPU, whose walk cache then points into the table P0 freed', () => {
    const { good, bad } = both(lazyThenOwnerFrees(), preB3UnshareNoLazyIpi);
    expect(good.verdict).toBe('pass');
    expect(good.trace.some((e) => e.actor === 'ipi@cpu1' && e.id === 'flush_tlb_func.switch_to_init_mm')).toBe(true);
    // no-stale-psc-after-unlink sees it first: T2's DONTNEED returns with the lazy CPU's walk cache on the unshared table
    expect(bad.violation).toMatchObject({ property: 'no-stale-psc-after-unlink', actor: 'T2', holder: 'PSC' });
    const freed = both(lazyThenOwnerFrees(), preB3UnshareNoLazyIpi, 'no-freed-table-reachable');
    expect(freed.bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'rcu', holder: 'PSC' });
    expect(freed.bad.violation!.message).toContain('lazy');
  });

  it('pre-8ce720d5bd91: a sync IPI per unsharer, but no unshared_tables, so the lazy CPU is not flushed either', () => {
    const { good, bad } = both(lazyThenOwnerFrees(), pre8ce720d5bd91);
    expect(good.verdict).toBe('pass');
    expect(bad.trace.some((e) => e.actor === 'T2' && e.id === 'huge_pmd_unshare.tlb_remove_table_sync_one')).toBe(true);
    expect(bad.violation).toMatchObject({ property: 'no-stale-psc-after-unlink', actor: 'T2', holder: 'PSC' });
    expect(both(lazyThenOwnerFrees(), pre8ce720d5bd91, 'no-freed-table-reachable').bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'rcu', holder: 'PSC' });
  });

  it('unshare-leaf-only-flush: the walk cache keeps the unshared table, and an access after munmap walks through it (read-value)', () => {
    const sc = scenario({ setup: shared2, threads: [thread('T0', 'P0', 0, write(HA)), thread('T1', 'P1', 1, read(HB), munmap(HB, 16), read(HB))], schedule: [run('T0'), run('T1')] });
    const { good, bad } = both(sc, unshareLeafOnlyFlush);
    expect(good.verdict).toBe('pass');
    // munmap returns with the walk cache on the table P1 no longer links (no-stale-psc-after-unlink), and the next access reads through it
    expect(bad.violation).toMatchObject({ property: 'no-stale-psc-after-unlink', actor: 'T1', stepId: 'sys_munmap.return', holder: 'PSC' });
    expect(both(sc, unshareLeafOnlyFlush, 'read-value').bad.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.walk' });
  });

  it('unshare-flush-after-i-mmap: with i_mmap dropped before the flush, P0 unmaps and frees the table under CPU1\'s walk cache', () => {
    const sc = scenario({
      setup: shared2,
      threads: [thread('T0', 'P0', 0, write(HA), munmap(HA, 16)), thread('T1', 'P1', 1, read(HB), munmap(HB, 16))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T1', '__hugetlb_zap_end.hugetlb_vma_unlock_write'), run('T0'), run('ipi@cpu1'), run('T0'), run('rcu'), run('T1')],
    });
    const { good, bad } = both(sc, unshareFlushAfterIMmap);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', actor: 'rcu', holder: 'PSC' });
  });
});

describe('reclaim mutants (paths/reclaim.ts, tlbbatch.ts)', () => {

  it('pre-3ea277194daa: mprotect skips flush_tlb_batched_pending and returns with a writable entry left by reclaim', () => {
    const { good, bad } = both(scenarioFile('reclaim-vs-mprotect-3ea277194daa.txt'), pre3ea277194daa);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.flush_batched_pending_catch_up).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'protect-complete', actor: 'T2', stepId: 'sys_mprotect.return', holder: 'TLB' });
  });

  it('pre-5ee2fa2f0636: flush_tlb_batched_pending clears a batch reclaim added during its flush, and mprotect returns with a writable entry', () => {
    const { good, bad } = both(scenarioFile('reclaim-vs-batched-pending-5ee2fa2f0636.txt'), pre5ee2fa2f0636);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.flush_batched_pending_catch_up).toBe(2); // the madvise's, and the mprotect's for the batch added meanwhile
    expect(bad.coverage.flush_batched_pending_catch_up).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'protect-complete', actor: 'T2', stepId: 'sys_mprotect.return', holder: 'TLB' });
    expect(bad.violation!.message).toContain('CPU1');
  });

  it('reclaim-free-before-batch-flush: the folio is freed while another CPU still maps it through the batch', () => {
    const { good, bad } = both(scenarioFile('reclaim-batched-flush-window.txt'), reclaimFreeBeforeBatchFlush);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'free_unref_folios', holder: 'TLB' });
  });

  it('relock-no-batched-flush (the 383c4613c67c pattern): a zap retry skips flush_tlb_batched_pending and madvise returns with a stale entry', () => {
    const { good, bad } = both(scenarioFile('reclaim-vs-zap-relock-383c4613c67c.txt'), relockNoBatchedFlush);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.flush_batched_pending_catch_up).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T2', stepId: 'sys_madvise.return', holder: 'TLB' });
  });

  it('tlbbatch-no-tlb-gen: without inc_mm_tlb_gen the batch flush flushes nothing and the folio is freed while mapped', () => {
    const { good, bad } = both(scenarioFile('reclaim-lazy-cpu-catch-up.txt'), tlbbatchNoTlbGen);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.lazy_return_catch_up).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'free_unref_folios', holder: 'TLB' });
  });
});

describe('fork and COW mutants (paths/fork.ts, copy_page_range.ts, wp_page_copy.ts)', () => {

  it('fork-no-flush-tlb-mm: a stale writable entry of the parent outlives the fork and the child reads the parent\'s later write', () => {
    const { good, bad } = both(scenarioFile('fork-stale-writable-parent.txt'), forkNoFlushTlbMm);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.fork_wrprotect_with_writable_tlb).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T2', stepId: 'user_access.walk' });
  });

  it('wp-page-copy-no-flush: another CPU keeps reading the old page after the COW break was written', () => {
    const { good, bad } = both(scenarioFile('cow-flush-before-set-pte.txt'), wpPageCopyNoFlush);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.cow_break_with_old_page_in_tlb).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.tlb_hit' });
  });

  it('pre-fb49c455323f: a per-VMA-lock fault beside copy_page_range gives the child a later write without an earlier one', () => {
    const { good, bad } = both(scenarioFile('fork-vs-per-vma-fault-fb49c455323f.txt'), preFb49c455323f);
    expect(good.verdict).toBe('pass');
    expect(bad.coverage.cow_fault_during_fork).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T2', stepId: 'user_access.walk' });
  });
});

describe('migration mutants (paths/migrate.ts, try_to_migrate_one.ts)', () => {

  it('pre-20841405940e: a PROT_NONE PTE with the NUMA scan\'s flush pending is migrated without a flush, and the old frame freed under a TLB entry', () => {
    const { good, bad } = both(scenarioFile('migrate-vs-numa-20841405940e.txt'), pre20841405940e);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.migrate_deferred_flush).toBe(1);
    expect(bad.coverage.migrate_deferred_flush).toBe(0);
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'migrate_folio_done', holder: 'TLB' });
  });

  it('migrate-copy-before-flush: a write through a stale entry after the copy is lost', () => {
    const { good, bad } = both(scenarioFile('migrate-write-in-flush-window.txt'), migrateCopyBeforeFlush);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.migrate_batched_flush_window).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
  });

  it('mprotect-writable-migration-entry: a page under migration comes back writable after mprotect(PROT_READ) returned', () => {
    const { good, bad } = both(scenarioFile('migrate-vs-mprotect.txt'), mprotectWritableMigrationEntry);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.migration_entry_changed).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.walk' });
  });

  it('fork-writable-migration-entry: parent and child share the migrated page writable, and the parent reads the child\'s write', () => {
    const { good, bad } = both(scenarioFile('migrate-vs-fork.txt'), forkWritableMigrationEntry);
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.walk' });
  });
});

describe('mremap mutants (paths/mremap.ts, mremap_tables.ts)', () => {
  it('mremap-no-vma-start-write: a per-VMA-lock fault maps a page behind the move and the store is lost', () => {
    const { good, bad } = both(scenarioFile('mremap-fault-racing-move.txt'), mremapNoVmaStartWrite);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_fault_during_move).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
    expect(bad.violation!.message).toContain('read of 0x31000 in P0 gave value 0');
  });

  it("vma-link-no-vma-start-write: a per-VMA-lock fault in the new VMA is overwritten by the moved PTE", () => {
    const { good, bad } = both(scenarioFile('mremap-fault-on-new-vma.txt'), vmaLinkNoVmaStartWrite);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_fault_during_move).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
    expect(bad.violation!.message).toContain('read of 0x30000 in P0 gave value 1');
  });

  it('move-ptes-no-flush: the mremap returns while a CPU still maps the source page', () => {
    const { good, bad } = both(scenarioFile('move-ptes-no-flush.txt'), movePtesNoFlush);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_ptes_moved).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_mremap.return', holder: 'TLB' });
  });

  it('move-normal-pmd-no-flush: the mremap returns while a CPU still maps the source through the moved table', () => {
    const { good, bad } = both(scenarioFile('move-normal-pmd-no-flush.txt'), moveNormalPmdNoFlush);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_table_moved).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'unmap-complete', actor: 'T0', stepId: 'sys_mremap.return', holder: 'TLB' });
    // without the TLB's property, the stale PSC entry onto the moved table of a CPU that is not lazy is the finding
    const psc = both(scenarioFile('move-normal-pmd-no-flush.txt'), moveNormalPmdNoFlush, 'no-stale-psc-after-unlink');
    expect(psc.good.verdict).toBe('pass');
    expect(psc.bad.violation).toMatchObject({ property: 'no-stale-psc-after-unlink', stepId: 'sys_mremap.return', holder: 'PSC' });
  });

  it('pre-eb66ae030829: a clean moved PTE is flushed only after the PTLs go, and a synchronous migration frees the page under the old address', () => {
    const { good, bad } = both(scenarioFile('mremap-vs-migrate-eb66ae030829.txt'), preEb66ae030829);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_ptes_moved).toBe(1);
    expect(good.coverage.migrate_undone).toBeGreaterThan(0); // the ASYNC pass failed on the pin: the SYNC pass is the walker
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done', holder: 'TLB' });
    expect(bad.violation!.message).toContain('CPU1');
    expect(bad.violation!.message).toContain('0x10000');
  });

  it('pre-97113eb39fa7: move_normal_pmd moves the table under a walker holding its PTL, and the page is freed under the new address', () => {
    const { good, bad } = both(scenarioFile('mremap-pmd-vs-migrate-97113eb39fa7.txt'), pre97113eb39fa7);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.mremap_table_moved).toBe(1);
    expect(good.trace.some((e) => e.id === 'take_rmap_locks.i_mmap_lock_write')).toBe(true);
    expect(bad.coverage.mremap_table_moved).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done', holder: 'TLB' });
    expect(bad.violation!.message).toContain('maps 0x30000');
    // the anonymous twin: the anon_vma lock is what waits there
    const anon = both(scenarioFile('mremap-pmd-vs-migrate-anon.txt'), pre97113eb39fa7);
    expect(anon.good.verdict).toBe('pass');
    expect(anon.good.trace.some((e) => e.id === 'take_rmap_locks.anon_vma_lock_write')).toBe(true);
    expect(anon.bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done', holder: 'TLB' });
  });
});

describe('GUP write pins and their DMA (paths/gup_fast.ts, gup.ts): what a pin keeps', () => {
  const ids = (r: { trace: { id: string }[] }) => r.trace.map((e) => e.id);

  it('pre-6c8e2a256915: reclaim discards a clean lazyfree folio under the pin, and the O_DIRECT data is lost', () => {
    const { good, bad } = both(scenarioFile('gup-dma-into-lazyfree.txt'), pre6c8e2a256915);
    expect(good.verdict).toBe('pass');
    expect(ids(good)).toContain('try_to_unmap_one.lazyfree_extra_ref');
    expect(ids(good)).toContain('dma_to_pinned_page');
    expect(ids(bad)).toContain('try_to_unmap_one.lazyfree_discard');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
    expect(bad.violation!.message).toContain('gave value 0');
  });

  it('pre-6c8e2a256915 through the slow path: get_user_pages(FOLL_WRITE) pins the same way', () => {
    const text = readFileSync(new URL('./scenarios/gup-dma-into-lazyfree.txt', import.meta.url), 'utf8').replace('gup 0x10000 dma=write', 'get_user_pages 0x10000 dma=write').replace('until=gup_fast.local_irq_restore', 'until=get_user_pages.mmap_read_unlock');
    const { good, bad } = both(parseScenario(text), pre6c8e2a256915);
    expect(good.verdict).toBe('pass');
    expect(ids(good)).toContain('get_user_pages.submit_bio');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
  });

  it('pre-70e806e4e645: fork shares the pinned page, the parent COWs away, and the child reads data that arrived after the fork', () => {
    const { good, bad } = both(scenarioFile('gup-dma-across-fork.txt'), pre70e806e4e645);
    expect(good.verdict).toBe('pass');
    expect(ids(good)).toContain('copy_present_page');
    expect(ids(bad)).toContain('__copy_present_ptes');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T2', stepId: 'user_access.walk' });
  });

  it('swap-out leaves a maybe-pinned exclusive folio mapped (folio_try_share_anon_rmap_pte), so the DMA is read back', () => {
    const r = runScenario(scenarioFile('gup-dma-pinned-not-swapped.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(ids(r)).toContain('try_to_unmap_one.maybe_dma_pinned');
    const dma = r.trace.find((e) => e.id === 'dma_to_pinned_page')!.obs as { value: number };
    const last = r.trace.filter((e) => e.actor === 'T0' && e.obs?.kind === 'access').pop()!.obs as { value: number };
    expect(last.value).toBe(dma.value);
  });

  it('a FOLL_WRITE pin needs a PTE that allows writes: after fork the shared page is not pinned (the slow-path fault is not modelled)', () => {
    const sc = parseScenario('config cpus=2\nprocess P0\nmmap P0 0x10000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  write 0x10000\n  fork C\n  gup 0x10000 dma=write\n  get_user_pages 0x10000 dma=write\n  read 0x10000\n');
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.some((e) => e.obs?.kind === 'pin' || e.obs?.kind === 'dma')).toBe(false);
  });
});
