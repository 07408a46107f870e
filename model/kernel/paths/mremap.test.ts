import { describe, expect, it } from 'vitest';
import { linux } from '../../policies/linux.js';
import { policyByName } from '../../policies/registry.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario, type RunResult } from '../../run/runner.js';
import { validateScenario } from '../../run/validate.js';
import { findLeaf } from '../pagetable.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { PROPERTIES } from '../../../properties/registry.js';
import type { Observation } from '../step.js';
import { mmapLock } from '../locks.js';
import { scenarioFile } from '../../../test/build.js';

const txt = (s: string) => parseScenario(s);
const accesses = (r: RunResult, actor: string) =>
  r.trace.filter((e) => e.actor === actor && e.obs?.kind === 'access').map((e) => {
    const o = e.obs as Extract<Observation, { kind: 'access' }>;
    return o.ok ? o.value : 'SIGSEGV';
  });
const results = (r: RunResult, actor: string) => r.trace.filter((e) => e.actor === actor && e.obs?.kind === 'return').map((e) => (e.obs as Extract<Observation, { kind: 'return' }>).result);
const ids = (r: RunResult, actor = 'T0') => r.trace.filter((e) => e.actor === actor).map((e) => e.id);
const run = (s: string) => runScenario(txt(s), { policy: linux, properties: PROPERTIES });

describe('mremap (do_mremap, remap_move, move_vma)', () => {
  it('moves the pages with their data: the target reads them, the source faults', () => {
    const r = run(`config cpus=2
process P0
file F pages=2
mmap P0 0x10000 pages=2 prot=rw
mmap P0 0x20000 pages=1 prot=rw file=F
thread T0 P0 cpu=0
  write 0x10000
  write 0x20000
  mremap 0x10000 0x30000 pages=2
  mremap 0x20000 0x40000 pages=1
  read 0x30000
  read 0x31000
  read 0x40000
  read 0x10000
  read 0x20000
`);
    expect(r.violation).toBeNull();
    expect(results(r, 'T0')).toEqual(['ok', 'ok']);
    expect(accesses(r, 'T0')).toEqual([1, 2, 1, 0, 2, 'SIGSEGV', 'SIGSEGV']);
    // a moved page keeps its frame: the PTE moved, nothing was copied
    const vmas = r.state.mms.P0!.vmas.map((v) => [v.start, v.end, v.file, v.pgoff]);
    expect(vmas).toEqual([[0x30, 0x32, null, 0], [0x40, 0x41, 'F', 0]]);
  });

  it('moves several VMAs and keeps the gap between them, whose target page stays as it was (d23cb648e365)', () => {
    const r = run(`config cpus=2
process P0
mmap P0 0x10000 pages=1 prot=rw
mmap P0 0x12000 pages=1 prot=rw
mmap P0 0x31000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  write 0x12000
  write 0x31000
  mremap 0x10000 0x30000 pages=3
  read 0x30000
  read 0x31000
  read 0x32000
`);
    expect(r.violation).toBeNull();
    expect(accesses(r, 'T0')).toEqual([1, 2, 3, 1, 3, 2]);
  });

  it('fails with EFAULT when no VMA maps the first page, and EINVAL when the ranges overlap, changing nothing', () => {
    const r = run(`config cpus=2
process P0
mmap P0 0x11000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x11000
  mremap 0x10000 0x30000 pages=2
  mremap 0x11000 0x11000 pages=1
  read 0x11000
`);
    expect(r.violation).toBeNull();
    expect(results(r, 'T0')).toEqual(['EFAULT', 'EINVAL']);
    expect(accesses(r, 'T0')).toEqual([1, 1]);
    expect(ids(r)).toContain('check_mremap_params.overlap');
    expect(ids(r)).not.toContain('move_ptes.set_ptes');
  });

  it('replaces what the target mapped (MREMAP_FIXED: do_munmap first)', () => {
    const r = run(`config cpus=2
process P0
mmap P0 0x10000 pages=1 prot=rw
mmap P0 0x30000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  write 0x30000
  mremap 0x10000 0x30000 pages=1
  read 0x30000
`);
    expect(r.violation).toBeNull();
    expect(accesses(r, 'T0')).toEqual([1, 2, 1]);
    const t = ids(r);
    expect(t.indexOf('zap_pte_range.clear')).toBeLessThan(t.indexOf('move_ptes.set_ptes'));
  });
});

describe('move_ptes() and the whole-table moves', () => {
  it('moves PTEs under both PTLs and flushes the old range before either PTL goes (eb66ae030829)', () => {
    const r = run(`config cpus=2
process P0
mmap P0 0x10000 pages=2 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  write 0x11000
  mremap 0x10000 0x30000 pages=2
thread T1 P0 cpu=1
  read 0x10000
schedule
  T0 until=user_access.walk
  T1
  T0
`);
    expect(r.violation).toBeNull();
    const moves = r.trace.filter((e) => e.id === 'move_ptes.set_ptes');
    expect(moves).toHaveLength(2);
    for (const e of moves) expect(e.locks.filter((l) => l.startsWith('ptl:'))).toHaveLength(2);
    const t = ids(r);
    const flush = t.indexOf('flush_tlb_mm_range.inc_mm_tlb_gen', t.indexOf('move_ptes.set_ptes'));
    expect(flush).toBeGreaterThan(t.lastIndexOf('move_ptes.set_ptes'));
    expect(flush).toBeLessThan(t.indexOf('move_ptes.spin_unlock'));
    expect(t.indexOf('move_ptes.spin_unlock')).toBeLessThan(t.indexOf('move_ptes.pte_unmap_unlock'));
    // the flush reached CPU1, which had the source page in its TLB
    expect(r.trace.some((e) => e.actor === 'ipi@cpu1' && e.id === 'flush_tlb_func.flush_tlb_one_user')).toBe(true);
  });

  it('moves a whole PTE table (move_normal_pmd) under both PMD locks and the file rmap lock, flushing before the unlock', () => {
    const r = run(`config cpus=2
process P0
file F pages=4
mmap P0 0x10000 pages=4 prot=rw file=F
thread T0 P0 cpu=0
  write 0x13000
  mremap 0x10000 0x30000 pages=4
  read 0x33000
`);
    expect(r.violation).toBeNull();
    expect(accesses(r, 'T0')).toEqual([1, 1]);
    const pop = r.trace.find((e) => e.id === 'move_normal_pmd.pmd_populate')!;
    expect(pop.locks.filter((l) => l.startsWith('pmd_lock:'))).toHaveLength(2);
    expect(pop.locks).toContain('i_mmap_rwsem:F'); // take_rmap_locks(): always for NORMAL_PMD since 97113eb39fa7
    const t = ids(r);
    expect(t).not.toContain('move_ptes.set_ptes');
    const flush = t.indexOf('flush_tlb_mm_range.inc_mm_tlb_gen', t.indexOf('move_normal_pmd.pmd_populate'));
    expect(flush).toBeGreaterThan(0);
    expect(flush).toBeLessThan(t.indexOf('move_normal_pmd.spin_unlock'));
    expect(t.indexOf('move_normal_pmd.spin_unlock')).toBeLessThan(t.indexOf('drop_rmap_locks.i_mmap_unlock_write'));
  });

  it('realigns a move that starts inside a PMD range down to it when nothing is mapped below (try_realign_addr)', () => {
    const moved = (extra: string) => ids(run(`config cpus=2
process P0
mmap P0 0x12000 pages=2 prot=rw
${extra}
thread T0 P0 cpu=0
  write 0x12000
  mremap 0x12000 0x32000 pages=2
  read 0x32000
`));
    expect(moved('')).toContain('move_normal_pmd.pmd_populate');
    // a VMA below the start in the same PTE table: can_align_down() refuses, the PTEs move one by one
    const t = moved('mmap P0 0x10000 pages=1 prot=rw');
    expect(t).not.toContain('move_normal_pmd.pmd_populate');
    expect(t).toContain('move_ptes.set_ptes');
  });

  it('moves a whole PMD table (move_normal_pud) under page_table_lock for a PUD-aligned 16-page move', () => {
    const r = run(`config cpus=2 frames=60
process P0
mmap P0 0x10000 pages=16 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  write 0x1f000
  mremap 0x10000 0x50000 pages=16
  read 0x50000
  read 0x5f000
`);
    expect(r.violation).toBeNull();
    expect(accesses(r, 'T0')).toEqual([1, 2, 1, 2]);
    expect(r.trace.find((e) => e.id === 'move_normal_pud.pud_populate')!.locks).toContain('page_table_lock:P0');
    expect(ids(r)).not.toContain('move_normal_pmd.pmd_populate');
  });

  it("catches up with reclaim's batched flush under the PTLs (flush_tlb_batched_pending, 3ea277194daa)", () => {
    const r = run(`config cpus=2
process P0
file F pages=2
mmap P0 0x10000 pages=2 prot=rw file=F
thread T0 P0 cpu=0
  read 0x10000
  mremap 0x10000 0x30000 pages=2
  read 0x31000
thread T1 P0 cpu=1
  read 0x11000
  reclaim 0x11000
schedule
  T0 until=user_access.walk
  T1 until=set_tlb_ubc_flush_pending
  T0
  T1
`);
    expect(r.violation).toBeNull();
    const t = ids(r);
    expect(ids(r, 'T1')).toContain('set_tlb_ubc_flush_pending');
    const catchUp = t.indexOf('flush_tlb_batched_pending.atomic_cmpxchg');
    expect(catchUp).toBeGreaterThan(t.indexOf('move_ptes.spin_lock_nested'));
    expect(catchUp).toBeLessThan(t.indexOf('move_ptes.set_ptes'));
  });

  // a vCPU that mapped the source page, and a move of it to 0x30000
  const VM_OVER_SOURCE = `config cpus=2
process P0
mmap P0 0x10000 pages=1 prot=rw
vm V0 P0 slots=0@0x10000+1
thread T0 P0 cpu=0
  write 0x10000
  mremap 0x10000 0x30000 pages=1
thread T1 P0 cpu=1
  guest_read V0 gfn=0
schedule
  T0 until=user_access.walk
  T1
  T0
`;

  it('calls the MMU notifiers around the move: a VM over the source loses its SPTE before the PTE moves', () => {
    const r = run(VM_OVER_SOURCE);
    expect(r.violation).toBeNull();
    const t = r.trace.map((e) => e.id);
    const start = t.indexOf('kvm_mmu_notifier_invalidate_range_start', t.indexOf('sys_mremap'));
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThan(t.indexOf('move_ptes.set_ptes'));
    expect(t.indexOf('kvm_mmu_invalidate_end', t.indexOf('move_ptes.set_ptes'))).toBeGreaterThan(0);
  });

  it('without the notifier calls, a VM keeps its SPTE of the moved source page (secondary-subset)', () => {
    const noNotifier = applyVariant(linux, defineVariant({ name: 'move-page-tables-no-notifier', description: 'test only', edit: (v) => v.drop('move_page_tables.mmu_notifier_invalidate_range_start').drop('move_page_tables.mmu_notifier_invalidate_range_end') }));
    const sc = txt(VM_OVER_SOURCE);
    expect(runScenario(sc, { policy: linux, properties: PROPERTIES }).verdict).toBe('pass');
    expect(runScenario(sc, { policy: noNotifier, properties: PROPERTIES }).violation).toMatchObject({ property: 'secondary-subset' });
  });
});

describe('mremap and the rest of the model', () => {
  it('is refused for every mshare design at validation (the posted series says only that a partial mremap fails in may_split)', () => {
    const sc = txt(`process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  mremap 0x10000 0x30000 pages=1
`);
    expect(validateScenario(sc, linux)).toBeNull();
    expect(validateScenario(sc, policyByName('mshare-v3')!)).toEqual({ near: 'T0', problem: 'mremap under mshare-v3: not modelled for mshare designs (the posted series says only that a partial mremap of an msharefs VMA fails in may_split)' });
  });

  it('refuses a target outside the address space at validation, and a hugetlb VMA at the call (not modelled)', () => {
    expect(validateScenario(txt('process P0\nthread T0 P0 cpu=0\n  mremap 0x10000 0xff000 pages=2\n'), linux)).toMatchObject({ problem: 'mremap to outside the 256-page address space' });
    const r = run(`config cpus=2
process P0
file H pages=16 hugetlb=1
mmap P0 0xc0000 pages=16 prot=rw file=H
thread T0 P0 cpu=0
  mremap 0xc0000 0x10000 pages=16
`);
    expect(ids(r)).toContain('sys_mremap.einval');
    expect(findLeaf(r.state, r.state.mms.P0!, 0x10)).toBeNull();
  });

  it('holds the mmap_lock for write from the lock to the return', () => {
    const r = run(`process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  mremap 0x10000 0x30000 pages=1
`);
    const t = r.trace.filter((e) => e.actor === 'T0');
    const from = t.findIndex((e) => e.id === 'do_mremap.mmap_write_lock_killable');
    const to = t.findIndex((e) => e.id === 'do_mremap.mmap_write_unlock');
    for (const e of t.slice(from, to)) expect(e.locks).toContain(mmapLock('P0' as never));
  });

  // eb66ae030829 (CVE-2018-18281) and 97113eb39fa7 (CVE-2022-41222) are races with an rmap walker
  // that frees the page after flushing only the address it found the PTE at. Reclaim, which always
  // defers its flush while mremap runs (the mremap's own CPU is in mm_cpumask) and then flushes the
  // whole mm, is not one; migration's MIGRATE_SYNC pass (ptep_clear_flush(), after an ASYNC pass that
  // failed) is. Their mutants' scenarios are in test/mutants.test.ts
  // (mremap-vs-migrate-eb66ae030829.txt, mremap-pmd-vs-migrate-97113eb39fa7.txt).
  it('take_rmap_locks() takes an anonymous VMA\'s anon_vma lock for write: move_normal_pmd() waits for a migration walk holding the table\'s PTL', () => {
    const r = runScenario(scenarioFile('mremap-pmd-vs-migrate-anon.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const ids = r.trace.map((e) => `${e.actor} ${e.id}`);
    const take = ids.indexOf('T2 take_rmap_locks.anon_vma_lock_write');
    expect(take).toBeGreaterThan(ids.indexOf('T0 try_to_migrate_one.ptep_get_and_clear'));
    expect(take).toBeGreaterThan(ids.indexOf('T0 rmap_walk_anon.anon_vma_unlock_read'));
    expect(ids.indexOf('T2 move_normal_pmd.pmd_clear')).toBeGreaterThan(take);
    expect(ids.indexOf('T2 drop_rmap_locks.anon_vma_unlock_write')).toBeGreaterThan(ids.indexOf('T2 move_normal_pmd.spin_unlock'));
  });

  it("takes the anon_vma lock a parent's migration walk holds: a child's move_normal_pmd() waits for it", async () => {
    const sc = scenarioFile('mremap-child-pmd-vs-parent-migrate.txt');
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const ids = r.trace.map((e) => `${e.actor} ${e.id}`);
    expect(ids.filter((x) => x === 'T2 take_rmap_locks.anon_vma_lock_write')).toHaveLength(2); // P0's and C's
    expect(ids.indexOf('T2 move_normal_pmd.pmd_clear')).toBeGreaterThan(ids.lastIndexOf('T0 rmap_walk_anon.anon_vma_unlock_read'));
    const pre = (await import('../../../variants/pre-97113eb39fa7.js')).default;
    const bad = runScenario(sc, { policy: applyVariant(linux, pre), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done', holder: 'TLB' });
    expect(bad.violation!.message).toContain('CPU3');
  });
});
