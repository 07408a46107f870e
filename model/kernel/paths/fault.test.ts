// The ordering contract of fault.ts (do_user_addr_fault -> handle_mm_fault),
// one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, file, munmap, proc, read, run, scenario, scenarioFile, shared, thread, until, va as vpn, write } from '../../../test/build.js';
import { accesses as accessSteps, drive, expectOrder, go, ids, pteOf, X, Y } from '../../../test/trace.js';
import type { RunResult } from '../../run/runner.js';
import type { KernelState } from '../state.js';
import { mmId } from '../types.js';
import { runScenario } from '../../run/runner.js';
import { policyByName } from '../../policies/registry.js';
import { PROPERTIES } from '../../../properties/registry.js';
import type { FaultCtx } from './fault.js';

/** What each user access of `actor` observed. */
const accesses = (r: RunResult, actor: string) => accessSteps(r, actor).map((e) => e.obs);
const allocated = (s: KernelState) => s.frames.filter((f) => f.state !== 'free').length;
const pteX = (s: KernelState) => pteOf(s, X);

describe('fault.ts: the page-fault path', () => {
  it('takes the per-VMA lock and gives SIGSEGV under it when the VMA forbids the access, allocating nothing (step 1)', () => {
    for (const [prot, op] of [['r', write(X)], ['none', read(X)]] as const) {
      const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1, prot)], threads: [thread('T0', 'P0', 0, op)] }));
      expect(r.verdict).toBe('pass');
      expect(ids(r, 'T0').slice(ids(r, 'T0').indexOf('user_access.page_fault'))).toEqual([
        'user_access.page_fault', 'lock_vma_under_rcu', 'do_user_addr_fault.bad_area_access_error', 'user_access.sigsegv',
      ]);
      expect(accesses(r, 'T0')).toEqual([expect.objectContaining({ ok: false })]);
      expect(allocated(r.state)).toBe(1); // the PGD only
      expect(r.state.locks['vma_lock:P0:0x10000']!.holders).toEqual([]);
    }
  });

  it('falls back to mmap_read_lock when lock_vma_under_rcu finds no VMA, and gives SIGSEGV there (steps 1-2)', () => {
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(0x40000))] }));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0').slice(ids(r, 'T0').indexOf('user_access.page_fault'))).toEqual([
      'user_access.page_fault', 'lock_vma_under_rcu.inval', 'lock_mm_and_find_vma.mmap_read_lock', 'lock_mm_and_find_vma.bad_area', 'do_user_addr_fault.mmap_read_unlock', 'user_access.sigsegv',
    ]);
    expect(allocated(r.state)).toBe(1);
  });

  it('falls back to mmap_read_lock when the VMA is write-locked: an munmap between vma_start_write and its downgrade (step 1)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 2)],
        threads: [thread('T0', 'P0', 0, read(Y)), thread('T1', 'P0', 1, munmap(X))],
        schedule: [until('T1', 'vms_gather_munmap_vmas.vma_start_write'), run('T0')],
      }),
    );
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0).toContain('lock_vma_under_rcu.inval'); // [X, X+2) is write-locked (and split: Y's piece stays locked too)
    expect(t0).not.toContain('lock_vma_under_rcu');
    // T0 queues on mmap_lock behind T1's write lock and gets it at the downgrade
    expectOrder(r, ['T0', 'rwsem_down_read_slowpath.queue'], ['T1', 'mmap_write_downgrade'], ['T0', 'lock_mm_and_find_vma.mmap_read_lock']);
    expect(accesses(r, 'T0')).toEqual([expect.objectContaining({ ok: true })]);
  });

  it('retries with mmap_read_lock when vmf_anon_prepare() cannot trylock it for the first anonymous page (step 1)', () => {
    // T1's munmap of another VMA holds mmap_lock for write; T0's VMA has no anon_vma yet
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1), anon('P0', 0x20000, 1)],
        threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P0', 1, munmap(0x20000))],
        schedule: [until('T1', 'do_vmi_munmap.mmap_write_lock'), run('T0')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'lock_vma_under_rcu'], ['T0', 'vmf_anon_prepare.retry'], ['T0', 'lock_mm_and_find_vma.mmap_read_lock'], ['T0', '__anon_vma_prepare'], ['T0', 'do_anonymous_page.set_pte_at']);
    expect(r.state.mms[mmId('P0')]!.vmas[0]!.anonVma).toBe(true);
    // with anon_vma in place the next fault in the VMA stays under the VMA lock
    const again = go(scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), write(Y))] }));
    const t0 = ids(again, 'T0');
    expect(t0.filter((id) => id.startsWith('vmf_anon_prepare.'))).toEqual(['vmf_anon_prepare.mmap_read_trylock', 'vmf_anon_prepare.mmap_read_unlock']);
    expect(t0.filter((id) => id === 'lock_vma_under_rcu')).toHaveLength(2);
    expect(t0).not.toContain('lock_mm_and_find_vma.mmap_read_lock');
  });

  it('bails out of the per-VMA path on an msharefs VMA (v3: mshare does not support per-VMA locks)', () => {
    const sc = scenarioFile('link-race');
    const r = runScenario(sc, { policy: policyByName('mshare-v3')!, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.map((e) => e.id)).toContain('do_user_addr_fault.vma_is_mshare');
  });

  it('allocates each missing table, populates PGD and PUD entries under page_table_lock and a PMD entry under the PMD table\'s split lock, and frees it if another thread was first (step 3)', () => {
    const one = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X))] }));
    const alloc = ids(one, 'T0').filter((id) => /alloc|populate|pmd_install/.test(id) && !id.startsWith('do_anonymous'));
    expect(alloc).toEqual([
      '__pud_alloc.alloc_one', '__pud_alloc.spin_lock', 'pgd_populate', '__pud_alloc.spin_unlock',
      '__pmd_alloc.alloc_one', '__pmd_alloc.spin_lock', 'pud_populate', '__pmd_alloc.spin_unlock',
      '__pte_alloc.alloc_one', 'pmd_install.pmd_lock', 'pmd_populate', 'pmd_install.spin_unlock',
    ]);
    const pmdTable = one.state.frames.find((f) => f.state === 'pagetable' && f.level === 2)!.pfn;
    // under the per-VMA lock: no mmap_lock
    expect(one.trace.filter((e) => e.id.endsWith('_populate')).map((e) => e.locks)).toEqual([
      ['page_table_lock:P0', 'vma_lock:P0:0x10000'], ['page_table_lock:P0', 'vma_lock:P0:0x10000'], [`pmd_lock:${pmdTable}`, 'vma_lock:P0:0x10000'],
    ]);

    const race = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 2)],
        threads: [thread('T0', 'P0', 0, read(X)), thread('T1', 'P0', 1, write(Y))],
        schedule: [until('T0', '__pud_alloc.alloc_one'), run('T1'), run('T0')],
      }),
    );
    expect(race.verdict).toBe('pass');
    const t0 = ids(race, 'T0');
    expect(t0).toContain('__pud_alloc.free');
    expect(t0).not.toContain('pgd_populate');
    expect(t0).not.toContain('__pmd_alloc.alloc_one'); // T1's tables are found and used
    expect(race.state.frames.filter((f) => f.state === 'pagetable')).toHaveLength(4); // PGD, PUD, PMD, PTE: no leak
  });

  it('maps a none PTE after re-checking it under the PTL, reuses a write-protected one, and otherwise treats the fault as spurious (step 3)', () => {
    const anonPage = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X))] }));
    expect(ids(anonPage, 'T0').filter((id) => id.startsWith('do_anonymous_page'))).toEqual(['do_anonymous_page.alloc', 'do_anonymous_page.pte_offset_map_lock', 'do_anonymous_page.set_pte_at', 'do_anonymous_page.pte_unmap_unlock']);
    expect(pteX(anonPage.state)).toMatchObject({ writable: true, dirty: true });
    expect(anonPage.state.frames[pteX(anonPage.state).pfn]!.mapcount).toBe(1);

    const filePage = go(scenario({ setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F', 'r')], threads: [thread('T0', 'P0', 0, read(X))] }));
    expect(ids(filePage, 'T0')).toEqual(expect.arrayContaining(['filemap_fault', 'finish_fault.set_pte_at']));
    const f = filePage.state.frames[pteX(filePage.state).pfn]!;
    expect([f.refcount, f.mapcount, pteX(filePage.state).writable]).toEqual([2, 1, false]); // page cache + mapping
    expect(filePage.state.files.F!.cache[0]).toBe(f.pfn);

    // T0 allocates a page, T1 maps X meanwhile: T0's re-check under the PTL sees it and drops its page
    const lost = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, read(X)), thread('T1', 'P0', 1, write(X))],
        schedule: [until('T0', 'do_anonymous_page.alloc'), run('T1'), run('T0')],
      }),
    );
    expect(lost.verdict).toBe('pass');
    expect(ids(lost, 'T0')).toContain('do_anonymous_page.pte_changed');
    expect(lost.coverage.fault_lost_race).toBe(1);
    expect(accesses(lost, 'T0').at(-1)).toMatchObject({ ok: true, value: 1 }); // T1's page and value
    expect(lost.state.frames.filter((x) => x.lp.startsWith('anon:')).map((x) => x.state)).toEqual(['free', 'data']);

    // T0 faults on a none PTE, T1 maps it before T0 looks: the PTE allows the read, nothing to do but retry
    const spurious = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, read(X)), thread('T1', 'P0', 1, write(X))],
        schedule: [until('T0', 'user_access.page_fault'), run('T1'), run('T0')],
      }),
    );
    expect(spurious.verdict).toBe('pass');
    expect(spurious.coverage.spurious_fault).toBe(1);
    const t0 = ids(spurious, 'T0');
    expect(t0.slice(t0.indexOf('handle_pte_fault.spurious'))).toEqual(['handle_pte_fault.spurious', 'do_user_addr_fault.vma_end_read', 'user_access.walk']);

    // a present read-only PTE in a VMA that allows the write: do_wp_page() -> wp_page_reuse() (driven directly:
    // no linux scenario reaches it, since read faults map writable-VMA pages writable)
    const s = go(scenario({ setup: [proc('P0'), anon('P0', X, 1, 'r')], threads: [thread('T0', 'P0', 0, read(X))] })).state;
    const vma = s.mms[mmId('P0')]!.vmas[0]!;
    vma.prot = { r: true, w: true };
    const c: FaultCtx = { mm: mmId('P0'), vpn: vpn(X), write: true, vma };
    expect(drive(s, 'T0', 0, 'handle_pte_fault', c)).toEqual(['do_wp_page.pte_offset_map_lock', 'wp_page_reuse', 'do_wp_page.pte_unmap_unlock']);
    expect(pteX(s)).toMatchObject({ writable: true, dirty: true });
  });

  it('drops the VMA lock before the access is retried; a waiting munmap write-locks and detaches the VMA only then (step 5)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P0', 1, munmap(X))],
        schedule: [until('T0', 'do_anonymous_page.set_pte_at'), run('T1'), run('T0'), run('T1')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'do_anonymous_page.set_pte_at'], ['T1', 'do_vmi_munmap.mmap_write_lock'], ['T0', 'do_anonymous_page.pte_unmap_unlock'], ['T0', 'do_user_addr_fault.vma_end_read'], ['T0', 'user_access.walk'], ['T1', 'vms_gather_munmap_vmas.vma_start_write'], ['T1', 'vms_gather_munmap_vmas.detach']);
    expect(r.trace.find((e) => e.actor === 'T1' && e.id === 'do_vmi_munmap.mmap_write_lock')).toBeDefined();
    expect(accesses(r, 'T0')).toEqual([expect.objectContaining({ write: true, ok: true })]); // the retry found the new PTE
    expect(r.state.locks['mmap_lock:P0']!.holders).toEqual([]);
    expect(r.state.locks['vma_lock:P0:0x10000']!.holders).toEqual([]);
  });
});
