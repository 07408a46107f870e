// The ordering contract of mprotect.ts (do_mprotect_pkey ->
// change_protection), one test per numbered step of its header, plus a
// skipped test where the model departs from x86.

import { describe, expect, it } from 'vitest';
import { anon, idle, mprotect, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, count, expectOrder, go, ids, lastAccess as lastAccessStep, notifiersVisible, observe, pteOf, X, Y } from '../../../test/trace.js';
import { runScenario, type RunResult } from '../../run/runner.js';
import type { KernelState } from '../state.js';
import { tlbUsableFor } from '../tlb.js';
import { PROPERTIES } from '../../../properties/registry.js';

/** What the last user access of `actor` observed. */
const lastAccess = (r: RunResult, actor: string) => lastAccessStep(r, actor).obs;
/** T0 writes X then mprotects it to `to`. */
const protect = (to: string, from = 'rw', first: 'read' | 'write' = 'write') =>
  scenario({ setup: [proc('P0'), anon('P0', X, 1, from)], threads: [thread('T0', 'P0', 0, first === 'write' ? write(X) : read(X), mprotect(X, 1, to))] });

describe('mprotect.ts: do_mprotect_pkey', () => {
  it('write-locks each VMA before mprotect_fixup changes it, waiting for a per-VMA fault already in it (step 2)', () => {
    // T1 is inside its fault on Y under the VMA lock when T0's mprotect starts: T0 blocks in vma_start_write()
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 2, 'r')), thread('T1', 'P0', 1, read(Y))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'lock_vma_under_rcu'), run('T0'), run('T1'), run('T0')],
    });
    const r = go(sc);
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T1', 'lock_vma_under_rcu'], ['T0', 'do_mprotect_pkey.mmap_write_lock'], ['T1', 'do_user_addr_fault.vma_end_read'], ['T0', 'mprotect_fixup.vma_start_write'], ['T0', 'mprotect_fixup']);
    expect(r.trace.filter((e) => e.id === 'mprotect_fixup.vma_start_write').map((e) => e.locks)).toEqual([['mmap_lock:P0']]);
  });

  it('takes mmap_lock for write and opens the gather before changing anything; a fault in the VMA waits for the unlock (step 1)', () => {
    // T1 faults on Y, in the VMA being changed, once mprotect_fixup() has rewritten it
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 2, 'r')), thread('T1', 'P0', 1, read(Y))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'mprotect_fixup'), run('T1'), run('T0'), run('T1')],
    });
    const { r, seen } = observe(sc, at('T0', 'mprotect_fixup'), (s) => ({ mode: s.locks['mmap_lock:P0']!.mode, pending: s.mms.P0!.tlbFlushPending }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ mode: 'w', pending: 1 }]);
    expectOrder(r, ['T0', 'do_mprotect_pkey.mmap_write_lock'], ['T0', 'tlb_gather_mmu.inc_tlb_flush_pending'], ['T0', 'mprotect_fixup'], ['T1', 'user_access.page_fault'], ['T0', 'do_mprotect_pkey.mmap_write_unlock'], ['T1', 'lock_mm_and_find_vma.mmap_read_lock']);
    expect(pteOf(r.state, Y).writable).toBe(false); // T1 faulted Y in under the new protection
  });

  it('splits the VMAs and sets the new protection before any PTE changes, up to the first hole (step 2)', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 3)], threads: [thread('T0', 'P0', 0, write(Y), mprotect(Y, 1, 'r'))] });
    const { r, seen } = observe(sc, at('T0', 'mprotect_fixup'), (s) => pteOf(s, Y).writable);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([true]); // the VMA changed first, the PTE later
    expect(r.state.mms.P0!.vmas.map((v) => [v.start, v.end, v.prot.w])).toEqual([[16, 17, true], [17, 18, false], [18, 19, true]]);

    const hole = go(scenario({ setup: [proc('P0'), anon('P0', X, 1), anon('P0', 0x12000, 1)], threads: [thread('T0', 'P0', 0, mprotect(X, 3, 'r'))] }));
    expect(hole.verdict).toBe('pass');
    expect(hole.trace.find((e) => e.id === 'sys_mprotect.return')!.obs).toMatchObject({ result: 'ENOMEM' });
    expect(hole.state.mms.P0!.vmas.map((v) => [v.start, v.prot.w])).toEqual([[16, false], [18, true]]); // stopped at the hole
  });

  it('calls notifier start after the VMA change and before the first PTE change, end after the last (step 3)', () => {
    const r = runScenario(protect('r'), { policy: notifiersVisible, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'mprotect_fixup'], ['T0', 'mmu_notifier_invalidate_range_start'], ['T0', 'change_pte_range.modify_prot'], ['T0', 'mmu_notifier_invalidate_range_end'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen']);
  });

  it('rewrites each PTE under its PTL, keeping A/D, and records a flush only for a downgrade (step 4)', () => {
    const { r, seen } = observe(protect('r'), at('T0', 'change_pte_range.modify_prot'), (s, e) => {
      const g = s.tasks.T0!.gather!;
      return { pte: pteOf(s, X), cleared: g.clearedPtes, range: [g.start, g.end], ptl: e.locks.some((l) => l.startsWith('ptl:')) };
    });
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ pte: expect.objectContaining({ writable: false, dirty: true, accessed: true, protNone: false }), cleared: true, range: [vpn(X), vpn(X) + 1], ptl: true }]);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);

    const none = go(protect('none'));
    expect(pteOf(none.state, X)).toMatchObject({ protNone: true, writable: false });
    expect(count(none, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1); // present -> PROT_NONE needs a flush
    // PROT_NONE -> PROT_READ: the old entry was not present for the walker, nothing to flush
    const back = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 1, 'none'), mprotect(X, 1, 'r'))] }));
    expect(back.verdict).toBe('pass');
    expect(count(back, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);
    expect(pteOf(back.state, X)).toMatchObject({ protNone: false, writable: false });
  });

  it('also flushes an upgrade that sets RW on a present PTE (x86 pte_flags_need_flush: _PAGE_RW is flush_on_change)', () => {
    // Model departs (mprotect.ts, step change_pte_range.modify_prot, and the header's "Upgrades need no flush"): x86 pte_needs_flush()
    // flushes on any change of _PAGE_RW (arch/x86/include/asm/tlbflush.h pte_flags_need_flush(), flush_on_change),
    // and change_pte_range() -> prot_commit_flush_ptes() calls tlb_flush_pte_range() when it returns true.
    const r = go(protect('rw', 'r', 'read'));
    expect(r.verdict).toBe('pass');
    expect(pteOf(r.state, X).writable).toBe(true);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);
  });

  it('flushes in tlb_finish_mmu, skipping lazy CPUs, which catch up through tlb_gen on return (step 5)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, 'r')), thread('T1', 'P0', 1, write(X), idle, write(X))],
        schedule: [until('T1', 'do_idle.__current_set_polling'), run('T0'), run('T1')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'ipi@cpu1')).toEqual([]);
    expectOrder(r, ['T0', 'change_pte_range.modify_prot'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['T0', 'sys_mprotect.return'], ['T1', 'switch_mm_irqs_off.lazy_catch_up']);
    expect(r.coverage.lazy_return_catch_up).toBe(1);
    expect(lastAccess(r, 'T1')).toMatchObject({ write: true, ok: false }); // the writable entry did not survive
  });

  it('drops mmap_lock and returns only once no CPU can still write through a stale entry (step 6)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, 'r')), thread('T1', 'P0', 1, write(X), write(X))],
      schedule: [until('T1', 'user_access.walk'), run('T0'), run('ipi@cpu1'), run('T0'), run('T1')],
    });
    const writable = (s: KernelState) => s.cpus.filter((c) => c.tlb.some((e) => e.vpn === vpn(X) && e.writable && tlbUsableFor(s, c, e.slot) === 'P0')).map((c) => c.id);
    const { r, seen } = observe(sc, (e) => e.actor === 'T0' && (e.id === 'native_flush_tlb_multi.send' || e.id === 'sys_mprotect.return'), (s) => writable(s));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([[0, 1], []]); // both CPUs' writable entries were live at the send, gone at the return
    expectOrder(r, ['ipi@cpu1', 'flush_tlb_func.flush_tlb_one_user'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'do_mprotect_pkey.mmap_write_unlock'], ['T0', 'sys_mprotect.return']);
    expect(lastAccess(r, 'T1')).toMatchObject({ write: true, ok: false });
  });
});
