// IOMMU SVA (paths/sva.ts): a device bound to a process's mm, its ATC
// filled by the IOMMU's walk of the CPU tables and invalidated by
// arch_invalidate_secondary_tlbs from the CPU flush functions.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { policyByName } from '../model/policies/registry.js';
import noSecondary from '../variants/flush-tlb-mm-range-no-secondary-tlbs.js';
import ihLeafOnly from '../variants/sva-ih-leaf-only.js';
import { anon, dmaRead, dmaWrite, munmap, proc, read, run, scenario, scenarioFile, svaBind, thread, until, write } from './build.js';
import { expectOrder } from './trace.js';

const X = 0x10000;

/** T0 writes X, the device reads X (the IOMMU's walk fills its ATC), then T0 munmaps X. */
const readThenMunmap = (): Scenario =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1), svaBind('dev0', 'P0')],
    threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('D0', 'P0', 1, dmaRead('dev0', X), dmaRead('dev0', X))],
    schedule: [until('T0', 'user_access.walk'), until('D0', 'iommu_dma_access.walk'), run('T0'), run('D0')],
  });

describe('SVA on linux', () => {
  it('the device reads what the CPU wrote; munmap invalidates its ATC before the page is freed; the next DMA faults', () => {
    const r = runScenario(readThenMunmap(), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const dma = r.trace.filter((e) => e.actor === 'D0' && e.obs?.kind === 'access');
    expect(dma.map((e) => e.id)).toEqual(['iommu_dma_access.walk', 'iommu_sva_handle_iopf.bad_access']);
    expect((dma[0]!.obs as { value: number }).value).toBe(1); // T0's write
    expect((dma[1]!.obs as { ok: boolean }).ok).toBe(false); // vma_lookup() found nothing: IOMMU_PAGE_RESP_INVALID
    expectOrder(r, ['T0', 'zap_pte_range.clear'], ['T0', 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated'], ['T0', 'tlb_batch_pages_flush']);
    expect(r.trace.map((e) => e.id)).toContain('iommu_dma_access.page_request');
  });

  it('a DMA write to an untouched page takes an I/O page fault, and the CPU reads what the device wrote', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), svaBind('dev0', 'P0')],
      threads: [thread('D0', 'P0', 1, dmaWrite('dev0', X)), thread('T0', 'P0', 0, read(X))],
      schedule: [run('D0'), run('T0')],
    });
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.filter((e) => e.actor === 'D0').map((e) => e.id);
    expect(ids).toContain('iommu_dma_access.page_request');
    expect(ids).toContain('do_anonymous_page.set_pte_at');
    expect(ids.at(-1)).toBe('iommu_dma_access.walk');
    const cpuRead = r.trace.find((e) => e.actor === 'T0' && e.obs?.kind === 'access');
    expect((cpuRead!.obs as { value: number }).value).toBe(1);
  });

  it('without the call in flush_tlb_mm_range the ATC outlives the free (no-freed-frame-reachable)', () => {
    const bad = runScenario(readThenMunmap(), { policy: applyVariant(linux, noSecondary), properties: PROPERTIES });
    expect(bad.verdict).toBe('violation');
    expect(bad.violation?.property).toBe('no-freed-frame-reachable');
    expect(bad.violation?.holder).toBe('device TLB');
  });
});

describe('SVA: the I/O page fault handler is a kernel thread with a task of its own', () => {
  it('a NUMA hinting fault taken by the handler migrates the page (its own tlb_ubc); the retried DMA writes the new page', () => {
    const r = runScenario(scenarioFile('sva-iopf-numa-migration'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'migrate_misplaced_folio_prepare'], ['T0', 'try_to_migrate_one.ptep_get_and_clear'], ['T0', 'migrate_folio_done']);
    expect(r.trace.filter((e) => e.actor === 'T0').map((e) => e.id).slice(-3)).toEqual(['iommu_sva_handle_iopf.mmap_read_unlock', 'iommu_page_response', 'iommu_dma_access.walk']);
  });
});

// The IOMMU's paging-structure cache (sva/state.ts): its walk caches the
// tables it reads, and only an invalidation with IH clear drops them.
describe("SVA: the IOMMU's paging-structure cache", () => {
  it('munmap frees the tables the IOMMU walked; the flush drops its PSC entries before the free (linux holds); with IH set the IOMMU keeps a freed table (no-freed-table-reachable)', () => {
    const sc = scenarioFile('sva-psc-table-freed');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.verdict).toBe('pass');
    expectOrder(good, ['D', 'iommu_dma_access.walk'], ['T0', 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);
    const dma = good.trace.filter((e) => e.actor === 'D' && e.obs?.kind === 'access');
    expect(dma.map((e) => e.id)).toEqual(['iommu_dma_access.walk', 'iommu_sva_handle_iopf.bad_access']); // the second walk found nothing
    const bad = runScenario(sc, { policy: applyVariant(linux, ihLeafOnly), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'device PSC', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' });
    expect(bad.violation?.message).toMatch(/^D0's IOMMU PSC \(bound to P0\) caches a pud table at frame \d+, which is free$/);
  });

  it('a hugetlb unshare leaves the shared PMD table to P0; the flush of P1 drops the device PSC entry before munmap returns (linux holds); with IH set it stays (no-stale-psc-after-unlink)', () => {
    const sc = scenarioFile('sva-psc-hugetlb-unshare');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.verdict).toBe('pass');
    expectOrder(good, ['T1', 'huge_pmd_share.pud_populate'], ['D', 'iommu_dma_access.walk'], ['T1', 'huge_pmd_unshare.pud_clear'], ['T1', 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated'], ['T1', 'sys_munmap.return']);
    const bad = runScenario(sc, { policy: applyVariant(linux, ihLeafOnly), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-stale-psc-after-unlink', holder: 'device PSC', actor: 'T1', stepId: 'sys_munmap.return' });
    expect(bad.violation?.message).toContain("still caches the pmd table at frame 3 for 0xd0000, which P1 no longer links there (pt:P0:L2)");
  });
});

describe("SVA: a retry while the IOMMU's PSC is behind an invalidation in flight", () => {
  it('waits for the flush to reach the device instead of spinning (linux holds); with IH set the wait never ends before the table is freed', () => {
    const sc = scenarioFile('sva-psc-behind-invalidation');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.verdict).toBe('pass');
    // T3 stops between its page response and its walk while T2 finishes the flush (the current actor runs on
    // unless it blocks, runner.ts): the wait (iommu_dma_access.psc_behind, no step of its own)
    expectOrder(good, ['T3', 'iommu_dma_access.page_request'], ['T3', 'iommu_page_response'], ['T2', 'native_flush_tlb_multi.wait'], ['T2', 'intel_arch_invalidate_secondary_tlbs.psc_invalidated'], ['T3', 'iommu_dma_access.walk']);
    const t3 = good.trace.filter((e) => e.actor === 'T3').map((e) => e.id);
    expect(t3.slice(t3.indexOf('iommu_page_response'))).toEqual(['iommu_page_response', 'iommu_dma_access.walk']);
    const bad = runScenario(sc, { policy: applyVariant(linux, ihLeafOnly), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'device PSC' });
  });
});

// Issue 11 items 4 and 6, hazard 19 (a): a device bound to a SHARER's mm
// translates through the shared tables; a host-side change must reach the
// sharer's arch_invalidate_secondary_tlbs before the page is freed.
describe('SVA on an mshare sharer', () => {
  const all = (file: string, policy: string) => runScenario(scenarioFile(file), { policy: policyByName(policy)!, properties: PROPERTIES });

  it('mshare-v3: the host flush is flush_tlb_all(), which calls no notifier: the device keeps the freed page', () => {
    const r = all('sva-over-window', 'mshare-v3');
    expect(r.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'device TLB' });
    expect(r.violation!.message).toMatch(/D0's ATC \(bound to P0\) maps 0x80000 -> frame \d+, which is free/);
    const ids = r.trace.map((e) => e.id);
    expect(ids).toContain('flush_tlb_all.send'); // the host's mshare_invalidate_tlbs ran ...
    expect(ids.filter((id) => id.startsWith('intel_arch_invalidate_secondary_tlbs'))).toEqual([]); // ... and never reached the device
    // without the device the same scenario holds: the CPU TLBs are covered by flush_tlb_all()
    const sc = scenarioFile('sva-over-window');
    const noDev = { ...sc, setup: sc.setup.filter((x) => x.kind !== 'sva_bind'), threads: sc.threads.filter((t) => t.name !== 'D'), schedule: sc.schedule.filter((e) => e.actor !== 'D') };
    expect(runScenario(noDev, { policy: policyByName('mshare-v3')!, properties: PROPERTIES }).verdict).toBe('pass');
  });

  it("mshare-v3 and v3-proposed: the host's table free leaves the sharer's IOMMU walking the freed host tables (no-freed-table-reachable, device PSC)", () => {
    for (const p of ['mshare-v3', 'mshare-v3-proposed']) {
      const r = all('sva-psc-over-window-host-free', p);
      expect(r.violation, p).toMatchObject({ property: 'no-freed-table-reachable', holder: 'device PSC', stepId: 'rcu_do_batch.__tlb_remove_table' });
      expect(r.violation!.message, p).toMatch(/^D0's IOMMU PSC \(bound to P0\) caches a pmd table at frame \d+, which is free$/);
      expect(r.trace.filter((e) => e.id.startsWith('intel_arch_invalidate_secondary_tlbs')), p).toEqual([]);
    }
  });

  it('mshare-v3-proposed: passing invalidate_range_start/end through does not help, the SVA domain has neither', () => {
    expect(all('sva-over-window', 'mshare-v3-proposed').violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'device TLB' });
  });

  it('mshare-v3-per-sharer-flush: flush_tlb_mm_range() per sharer reaches the device (its known sleeping-lock finding aside)', () => {
    const r = runScenario(scenarioFile('sva-over-window'), { policy: policyByName('mshare-v3-per-sharer-flush')!, properties: [propertyById('no-freed-frame-reachable')!, propertyById('unmap-complete')!, propertyById('read-value')!] });
    expect(r.verdict).toBe('pass');
    expect(r.trace.map((e) => e.id)).toContain('intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated');
  });

  it('mshare-2026: the sharer-list walk runs flush_tlb_mm_range(sharer), which reaches the device, with either listNotifiers value', () => {
    const m = policyByName('mshare-2026')!;
    for (const listNotifiers of ['secondary-tlbs-only', 'start-end'] as const) {
      const r = runScenario(scenarioFile('sva-over-window-2026'), { policy: { ...m, mshare: { ...m.mshare!, listNotifiers } }, properties: PROPERTIES });
      expect(r.verdict, listNotifiers).toBe('pass');
      const ids = r.trace.map((e) => e.id);
      expect(ids.indexOf('intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated')).toBeGreaterThan(ids.indexOf('mshare_flush_sharers.next'));
    }
  });
});

describe('hazard 19 (a) with a device: the pass-through of arch_invalidate_secondary_tlbs', () => {
  it('reaches the sharer\'s device TLB in time (what it is for), and sleeps on i_mmap_rwsem under the page-table lock (why it is refused)', async () => {
    const { default: passthrough } = await import('../patches/passthrough-secondary-tlbs.js');
    const p = applyVariant(policyByName('mshare-v3-proposed')!, passthrough);
    const sc = scenarioFile('sva-over-window');
    const memory = runScenario(sc, { policy: p, properties: [propertyById('no-freed-frame-reachable')!, propertyById('unmap-complete')!, propertyById('read-value')!] });
    expect(memory.verdict).toBe('pass');
    expect(memory.trace.some((e) => e.id.endsWith('intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated'))).toBe(true); // a variant's step ids carry its name
    expect(runScenario(sc, { policy: p, properties: PROPERTIES }).violation).toMatchObject({ property: 'lock-discipline', stepId: 'passthrough-secondary-tlbs:i_mmap_lock_read' });
  });
});
