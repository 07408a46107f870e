// guest_memfd-backed memslots (issue 11 item 6, last bullet; docs/kvm.md,
// guest_memfd): the TDP fault resolves the pfn through kvm_gmem_get_pfn(),
// gmem_punch_hole follows kvm_gmem_punch_hole(), the ideal memory checks a
// guest access against the file's page, and hazard 4 is computed with the
// slot backed by the hva and by a guest_memfd.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { validateScenario } from '../model/run/validate.js';
import { parseScenario, printScenario } from '../reports/scenario_text.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import truncateFirst from '../variants/gmem-truncate-before-invalidate.js';
import endFirst from '../variants/gmem-end-before-truncate.js';
import preB25ab9 from '../variants/pre-b25ab9cae30f.js';
import { scenarioFile as load } from './build.js';

const ids = (r: { trace: { id: string }[] }) => r.trace.map((e) => e.id);
const values = (r: { trace: { actor: string; obs?: unknown }[] }, actor: string) =>
  r.trace.filter((e) => (e.obs as { kind?: string } | undefined)?.kind === 'access' && e.actor === actor).map((e) => (e.obs as { value: number }).value);

describe('guest_memfd on linux', () => {
  it('a punch hole racing the guest: zap and flush, then truncate, then end; the guest reads the new zeroed page', () => {
    const r = runScenario(load('gmem-punch-hole-racing-guest'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t = ids(r);
    const at = (id: string) => t.indexOf(id);
    // kvm_gmem_punch_hole()'s order
    expect(at('kvm_gmem_punch_hole.filemap_invalidate_lock')).toBeLessThan(at('__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin'));
    expect(at('__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin')).toBeLessThan(at('__kvm_gmem_invalidate_begin.tdp_mmu_zap_leafs'));
    expect(at('__kvm_gmem_invalidate_begin.tdp_mmu_zap_leafs')).toBeLessThan(at('kvm_make_all_cpus_request.wait'));
    expect(at('kvm_make_all_cpus_request.wait')).toBeLessThan(at('truncate_inode_pages_range.filemap_remove_folio'));
    expect(at('truncate_inode_pages_range.filemap_remove_folio')).toBeLessThan(at('__kvm_gmem_invalidate_end.kvm_mmu_invalidate_end'));
    expect(at('__kvm_gmem_invalidate_end.kvm_mmu_invalidate_end')).toBeLessThan(at('kvm_gmem_punch_hole.filemap_invalidate_unlock'));
    // the guest's pfn comes from the file: no GUP, no walk of P0's tables (no VMA maps 0x80000)
    expect(t).toContain('kvm_gmem_get_pfn');
    expect(t.some((id) => id.startsWith('get_user_pages') || id.startsWith('do_user_addr_fault'))).toBe(false);
    expect(t).toContain('is_page_fault_stale.retry'); // the read's fault took the old folio inside the invalidation
    expect(values(r, 'T0')).toEqual([1, 0]);
  });

  it('a fault holding the old folio across the whole punch hole retries, and the folio is freed only when it drops it', () => {
    const r = runScenario(load('gmem-fault-racing-punch-hole'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t = ids(r);
    expect(t.indexOf('is_page_fault_stale.retry')).toBeGreaterThan(t.indexOf('sys_fallocate.return'));
    expect(t.filter((id) => id === 'kvm_gmem_get_pfn')).toHaveLength(2);
    expect(values(r, 'T0')).toEqual([1, 1]);
  });

  it('the ideal memory: the guest reads the file\'s page, not what the VMM has at the slot\'s hva, and the VMM does not see the guest\'s write', () => {
    const sc = parseScenario(`process P0
mmap P0 0x80000 pages=1 prot=rw
gmem G0 pages=1
vm V0 P0 slots=0@0x80000+1/G0+0
thread T0 P0 cpu=0
  write 0x80000
  guest_read V0 gfn=0
  guest_write V0 gfn=0
  read 0x80000
`);
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(values(r, 'T0')).toEqual([1, 0, 2, 1]);
    // checked: a fault that resolved the pfn through the hva, as for an hva-backed slot, reads the VMM's page
    const throughHva = defineVariant({ name: 'test-gmem-through-hva', description: 'test: the fault of a guest_memfd-backed gfn goes through hva_to_pfn()', edit: (v) => v.replace('kvm_mmu_faultin_pfn_gmem', function* (_k, c: { gmem?: unknown }) {
      delete c.gmem;
      yield { id: 'kvm_gmem_get_pfn' };
    }) });
    const bad = runScenario(sc, { policy: applyVariant(linux, throughHva), properties: [propertyById('read-value')!] });
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0' });
  });

  it("the mm's MMU notifier still zaps the gmem slot's SPTEs by hva (kvm_handle_hva_range(), KVM_FILTER_SHARED: direct roots without mirrored TDP); the guest refaults onto the same file page", () => {
    const sc = parseScenario(`config cpus=2
process P0
mmap P0 0x80000 pages=1 prot=rw
gmem G0 pages=1
vm V0 P0 slots=0@0x80000+1/G0+0
thread T0 P0 cpu=0
  guest_write V0 gfn=0
  idle
  guest_read V0 gfn=0
thread T1 P0 cpu=1
  munmap 0x80000 pages=1
schedule
  T0 until=kvm_vcpu_run.vmexit
  T1
  T0
`);
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t = ids(r);
    expect(t).toContain('kvm_mmu_notifier_invalidate_range_start');
    expect(t).toContain('tdp_mmu_zap_leafs'); // the SPTE maps G0's page, not P0's: zapped all the same
    expect(t.filter((id) => id === 'kvm_gmem_get_pfn')).toHaveLength(2);
    expect(values(r, 'T0')).toEqual([1, 1]); // the file's page kept its contents
  });
});

describe('gmem-truncate-before-invalidate (rule mutant)', () => {
  it('frees the folio while the SPTE still maps it; linux holds on the same scenario', () => {
    const sc = load('gmem-punch-hole-racing-guest');
    expect(runScenario(sc, { policy: linux, properties: PROPERTIES }).verdict).toBe('pass');
    const bad = runScenario(sc, { policy: applyVariant(linux, truncateFirst), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'SPTE', actor: 'T1', stepId: 'truncate_inode_pages_range.filemap_remove_folio' });
  });
});

describe('gmem-end-before-truncate (rule mutant)', () => {
  it('lets a fault after the end map a folio the truncate then removes; linux holds on the same scenario', () => {
    const sc = load('gmem-fault-after-invalidate-end');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.verdict).toBe('pass');
    expect(ids(good).indexOf('truncate_inode_pages_range.filemap_remove_folio')).toBeLessThan(ids(good).indexOf('kvm_gmem_get_pfn'));
    const bad = runScenario(sc, { policy: applyVariant(linux, endFirst), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', holder: 'SPTE', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' });
    expect(bad.violation!.message).toContain('page 0 of guest_memfd G0 is not in its page cache');
  });
});

describe('pre-b25ab9cae30f (the guest_memfd series before "KVM: Fix MMU invalidation bookkeeping in guest_memfd")', () => {
  it('a hole no memslot binds leaves an invalidation begun and never ended, and the next fault retries for ever; linux neither begins nor ends one', () => {
    const sc = load('gmem-punch-unbound-hole');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.verdict).toBe('pass');
    expect(ids(good)).not.toContain('__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin'); // no binding in [1, 2): no begin
    expect(ids(good)).toContain('tdp_mmu_map_handle_target_level'); // and the guest's fault maps gfn 0
    const bad = runScenario(sc, { policy: applyVariant(linux, preB25ab9), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1' });
    expect(bad.violation!.message).toContain('kvm_gmem_invalidate_begin) never ended');
    // the harm without the ghost property: mmu_invalidate_retry_gfn() finds an invalidation with no
    // range (its WARN case) and the vCPU's fault retries until no actor can run
    const stalled = runScenario(sc, { policy: applyVariant(linux, preB25ab9), properties: PROPERTIES.filter((p) => p.id !== 'notifier-balance') });
    expect(stalled.violation).toMatchObject({ property: 'no-deadlock' });
    expect(ids(stalled)).toContain('is_page_fault_stale.retry');
    expect(ids(stalled)).not.toContain('tdp_mmu_map_handle_target_level');
  });
});

// the KVM properties and the ideal memory, as test/kvm_mshare.test.ts runs hazard 4
const KVM_PROPS = ['no-freed-frame-reachable', 'secondary-subset', 'read-value', 'no-spte-in-window', 'notifier-balance'].map((x) => propertyById(x)!);
const run = (scenario: string, policy: string) => runScenario(load(scenario), { policy: policyByName(policy)!, properties: KVM_PROPS });

describe('hazard 4 with the slot backed by the hva and by a guest_memfd', () => {
  for (const p of ['mshare-v2', 'mshare-v3', 'mshare-v3-cpumask-union', 'mshare-v3-per-sharer-flush']) {
    it(`${p}: found with the hva slot, holds with the gmem slot (the SPTE maps G0's page, which the host-side unmap does not touch)`, () => {
      expect(run('hazard4-kvm-over-window', p).violation).toMatchObject({ property: 'secondary-subset', stepId: 'zap_pte_range.clear', holder: 'SPTE' });
      const g = run('hazard4-kvm-over-window-gmem', p);
      expect(g.verdict).toBe('pass');
      expect(ids(g)).toContain('zap_pte_range.clear'); // the host PTE went
      expect(ids(g).some((id) => id.startsWith('kvm_mmu_notifier'))).toBe(false); // KVM was never told, and did not need to be
      expect(values(g, 'T0')).toEqual([1, 2, 2]); // the VMM's write through the window, the guest's write and read of G0's page
    });
  }

  it('mshare-2026: found with the hva slot, holds with the gmem slot', () => {
    expect(run('hazard4-kvm-over-window-2026', 'mshare-2026').violation).toMatchObject({ property: 'secondary-subset', stepId: 'zap_pte_range.clear', holder: 'SPTE' });
    const g = run('hazard4-kvm-over-window-2026-gmem', 'mshare-2026');
    expect(g.verdict).toBe('pass');
    expect(ids(g)).toContain('zap_pte_range.clear');
    expect(values(g, 'T1')).toEqual([1, 2, 2]);
  });

  it("mshare-v3-proposed: holds both ways; with the gmem slot the pass-through start still zaps the SPTE by hva and the guest refaults onto the same page", () => {
    expect(run('hazard4-kvm-over-window', 'mshare-v3-proposed').verdict).toBe('pass');
    const g = run('hazard4-kvm-over-window-gmem', 'mshare-v3-proposed');
    expect(g.verdict).toBe('pass');
    expect(ids(g)).toContain('tdp_mmu_zap_leafs');
    expect(values(g, 'T0')).toEqual([1, 2, 2]);
  });
});

describe('guest_memfd scenario text', () => {
  const base = `process P0
process P1
gmem G0 pages=2
vm V0 P0 slots=0@0x80000+1/G0+1
thread T0 P0 cpu=0
  gmem_punch_hole G0 offset=0 pages=2
`;
  it('round-trips a gmem-backed memslot and the punch hole', () => {
    const sc = parseScenario(base);
    expect(sc.setup[3]).toEqual({ kind: 'vm', name: 'V0', proc: 'P0', memslots: [{ gfn: 0, hva: 0x80, pages: 1, gmem: { file: 'G0', pgoff: 1 } }] });
    expect(parseScenario(printScenario(sc))).toEqual(sc);
    expect(validateScenario(sc, linux)).toBeNull();
  });

  it('refuses what kvm_gmem_bind() and the model refuse, with the reason', () => {
    const problem = (text: string) => validateScenario(parseScenario(text), linux)?.problem;
    expect(() => parseScenario('process P0\nvm V0 P0 slots=0@0x80000+1/G9+0\n')).toThrow(/undeclared guest_memfd 'G9'/);
    expect(problem(base.replace('/G0+1', '/G0+2'))).toMatch(/binds pages 2\.\.2 of guest_memfd 'G0', which has 2/);
    expect(problem(base.replace('slots=0@0x80000+1/G0+1', 'slots=0@0x80000+2/G0+0,4@0x90000+1/G0+1'))).toMatch(/two memslots bind the same pages/);
    expect(problem(`${base}vm V1 P1 slots=0@0x80000+1/G0+0\n`)).toMatch(/bound by vm 'V0' and vm 'V1'/);
    expect(problem(`${base}  mmap 0x10000 pages=1 prot=rw file=G0 pgoff=0\n`)).toMatch(/mmap of guest_memfd 'G0': not modelled/);
    expect(problem(`${base}thread T1 P1 cpu=0\n  gmem_punch_hole G0 offset=0 pages=1\n`)).toMatch(/whose fd is vm 'V0's VMM's/);
    expect(problem(base.replace('offset=0 pages=2', 'offset=1 pages=2'))).toMatch(/beyond the end of guest_memfd 'G0'/);
  });
});
