// The ordering contract of madvise.ts (madvise(MADV_DONTNEED)), one test
// per numbered step of its header, plus skipped tests where the model
// departs from the v6.19-era kernel it claims to follow.

import { describe, expect, it } from 'vitest';
import { anon, idle, madvise, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { accesses, count, expectOrder, go, ids, observe, pos, X, Y } from '../../../test/trace.js';
import type { RunResult } from '../../run/runner.js';
import { findTable } from '../pagetable.js';
import type { KernelState } from '../state.js';
import { tlbUsableFor } from '../tlb.js';
import type { MshareKnobs } from '../mshare/knobs.js';
import { policyByName } from '../../policies/registry.js';
import type { Policy } from '../../policies/policy.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { PROPERTIES, propertyById } from '../../../properties/registry.js';
import { parseScenario } from '../../../reports/scenario_text.js';

const returnOf = (r: RunResult, actor: string) => r.trace.find((e) => e.actor === actor && e.id === 'sys_madvise.return')!.obs;

/** T1 clears X first and stops; T0's madvise of X then finds the PTE already none (B3). */
const overlapping = scenario({
  setup: [proc('P0'), anon('P0', X, 1)],
  threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
  schedule: [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')],
});
const single = scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X))] });

describe('madvise.ts: madvise(MADV_DONTNEED)', () => {
  it('takes the per-VMA read lock for a range inside one VMA, shared with another madvise of it (step 1)', () => {
    const r = go(overlapping);
    expect(r.verdict).toBe('pass');
    // T0 gets in while T1 is inside its zap of the same range, before T1 returns
    const mine = r.trace.find((e) => e.actor === 'T0' && e.id === 'madvise_lock.lock_vma_under_rcu')!;
    expect(mine.n).toBeGreaterThan(pos(r, 'T1', 'zap_pte_range.clear'));
    expect(mine.n).toBeLessThan(pos(r, 'T1', 'sys_madvise.return'));
    expect(r.trace.find((e) => e.actor === 'T1' && e.id === 'madvise_lock.lock_vma_under_rcu')!.n).toBeLessThan(mine.n);
    expect(r.trace.filter((e) => e.id === 'tlb_gather_mmu.inc_tlb_flush_pending').map((e) => [e.actor, e.locks])).toEqual([['T1', ['vma_lock:P0:0x10000']], ['T0', ['vma_lock:P0:0x10000']]]);
    expect(ids(r, 'T0')).not.toContain('madvise.mmap_read_lock');
  });

  it('falls back to mmap_read_lock for a range past its VMA, and reports a hole in the range as ENOMEM (step 1)', () => {
    const hole = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X, 2))] }));
    expect(hole.verdict).toBe('pass');
    expectOrder(hole, ['T0', 'madvise.mmap_read_lock'], ['T0', 'zap_pte_range.clear'], ['T0', 'madvise.mmap_read_unlock']);
    expect(ids(hole, 'T0')).not.toContain('madvise_lock.lock_vma_under_rcu');
    expect(returnOf(hole, 'T0')).toMatchObject({ kind: 'return', result: 'ENOMEM' });
    expect(count(hole, 'T0', 'zap_pte_range.clear')).toBe(1); // the mapped part is still advised
    expect(hole.state.frames.filter((f) => f.lp.startsWith('anon:')).map((f) => f.state)).toEqual(['free']);
  });

  it('zaps a VMA inside one gather and flushes once, freeing the pages but no page table (step 2)', () => {
    const r = go(single);
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'madvise_lock.lock_vma_under_rcu'], ['T0', 'tlb_gather_mmu.inc_tlb_flush_pending'], ['T0', 'zap_pte_range.clear'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T0', 'tlb_batch_pages_flush'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending']);
    expect([count(r, 'T0', 'tlb_gather_mmu.inc_tlb_flush_pending'), count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')]).toEqual([1, 1]);
    expect(ids(r, 'T0').some((id) => /^free_.*_clear$/.test(id) || id === 'tlb_table_flush.call_rcu')).toBe(false);
    expect([1, 2, 3].map((l) => findTable(r.state, r.state.mms.P0!, vpn(X), l) !== null)).toEqual([true, true, true]);
    const data = r.state.frames.filter((f) => f.lp.startsWith('anon:'));
    expect(data.map((f) => f.state)).toEqual(['free', 'data']); // X's page went, Y's stayed
  });

  it('makes the zap that found the PTEs already clear flush the whole mm, so both return with the range unmapped (step 3)', () => {
    const usable = (s: KernelState) => s.cpus.filter((c) => c.tlb.some((e) => e.vpn === vpn(X) && tlbUsableFor(s, c, e.slot) === 'P0')).map((c) => c.id);
    const { r, seen } = observe(overlapping, (e) => e.id === 'sys_madvise.return', (s, e) => [e.actor, usable(s)]);
    expect(r.verdict).toBe('pass');
    expect(r.coverage.nested_gathers).toBe(1);
    expect(count(r, 'T0', 'zap_pte_range.clear')).toBe(0);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1); // flushed although it cleared nothing
    const t0 = ids(r, 'T0');
    expect(t0[t0.indexOf('flush_tlb_func.check') + 1]).toBe('flush_tlb_func.flush_tlb_local');
    expect(seen).toEqual([['T1', []], ['T0', []]]);
  });

  it('drops the VMA lock after the gather is finished, then returns (step 4)', () => {
    const { r, seen } = observe(single, (e) => e.actor === 'T0' && e.id === 'sys_madvise.return', (s) => [...s.locks['vma_lock:P0:0x10000']!.holders]);
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['T0', 'madvise_unlock.vma_end_read'], ['T0', 'sys_madvise.return']);
    expect(seen).toEqual([[]]);
    expect(returnOf(r, 'T0')).toMatchObject({ result: 'ok' });
    expect(r.state.mms.P0!.tlbFlushPending).toBe(0);
  });

  it('uses one gather, and one flush, for a range that spans two VMAs (kernel v6.16+: madvise_init_tlb/madvise_finish_tlb)', () => {
    // Model departs (madvise.ts, step madvise_dontneed_single_vma): tlb_gather_mmu/tlb_finish_mmu per VMA, i.e. the pre-v6.16 order.
    // mm/madvise.c since "mm/madvise: batch tlb flushes for MADV_DONTNEED[_LOCKED]": do_madvise() runs
    // madvise_lock(); madvise_init_tlb(); madvise_do_behavior() over every VMA; madvise_finish_tlb(); madvise_unlock().
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1), anon('P0', Y, 1, 'r')], threads: [thread('T0', 'P0', 0, write(X), read(Y), madvise(X, 2))] }));
    expect(r.verdict).toBe('pass');
    expect(count(r, 'T0', 'tlb_gather_mmu.inc_tlb_flush_pending')).toBe(1);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);
  });

  it.skip('frees a PTE table it emptied completely, IPIing lazy CPUs (kernel v6.14+ x86-64: CONFIG_PT_RECLAIM)', () => {
    // Model departs (madvise.ts line 7, "No table is freed"): madvise_dontneed_single_vma() sets
    // zap_details.reclaim_pt, and zap_pte_range() frees a PTE table whose whole PMD range it zapped and
    // found empty (try_get_and_clear_pmd() / free_pte() -> pte_free_tlb(), freed_tables = 1; mm/pt_reclaim.c).
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 4)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, read(X), idle)],
        schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expect(findTable(r.state, r.state.mms.P0!, vpn(X), 1)).toBeNull();
    expect(ids(r, 'ipi@cpu1')).toContain('flush_tlb_func.switch_to_init_mm');
  });

  it.skip('takes the per-VMA read lock, not mmap_lock, for a range inside one VMA (kernel v6.17+: MADVISE_VMA_READ_LOCK)', () => {
    // Model departs (madvise.ts, step madvise.mmap_read_lock): mm/madvise.c get_lock_mode() maps MADV_DONTNEED to MADVISE_VMA_READ_LOCK;
    // madvise_walk_vmas() then uses lock_vma_under_rcu() and falls back to mmap_read_lock() only when the range
    // spans VMAs or the VMA lock fails. lock-discipline's "PTE write needs mmap_lock" would then have to accept a VMA lock.
    const r = go(single);
    expect(r.verdict).toBe('pass');
    const inCall = r.trace.filter((e) => e.actor === 'T0' && e.n > pos(r, 'T0', 'sys_madvise') && e.n < pos(r, 'T0', 'sys_madvise.return'));
    expect(inCall.some((e) => e.locks.includes('mmap_lock:P0'))).toBe(false);
  });
});

describe('madvise.ts: MADV_DONTNEED through an msharefs window, by the madvise knob (issue 10)', () => {
  // T0 writes through its window, advises the page away, reads it again; T1 reads through its own window meanwhile.
  const text = `config cpus=2
process P0
process P1
msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x40000
  write 0x40000
  madvise 0x40000 pages=1
  read 0x40000
thread T1 P1 cpu=1
  attach M 0x80000
  read 0x80000
schedule
  T0 until=user_access.walk
  T1
  T0
`;
  const sc = parseScenario(text, 'madvise-window');
  const v3 = policyByName('mshare-v3')!;
  const withMadvise = (madvise: MshareKnobs['madvise']) => applyVariant(v3, defineVariant({ name: `madvise-${madvise}`, description: `madvise knob ${madvise}`, edit: (v) => v.knobs({ madvise }) }));
  // lock-discipline aside: RFC v3 and v2 link without page_table_lock (find_shared_vma), a finding of their own
  const runOn = (p: Policy) => runScenario(sc, { policy: p, properties: PROPERTIES.filter((x) => x.id !== 'lock-discipline') });
  const readBack = (r: RunResult) => (accesses(r, 'T0').at(-1)!.obs as { value: number; ok: boolean });
  const written = (r: RunResult) => (accesses(r, 'T0')[0]!.obs as { value: number }).value;

  it("early-return (RFC v3): unmap_page_range() returns for the shared VMA, nothing is zapped and the page keeps its data", () => {
    const r = runOn(policyByName('mshare-rfc-v3')!);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('unmap_page_range.vma_is_shared');
    expect(ids(r, 'T0')).not.toContain('zap_pte_range.clear');
    expect(readBack(r)).toMatchObject({ ok: true, value: written(r) });
    expect(r.knobsUsed).toContain('madvise');
  });

  it('empty-hook (v1/v2): the msharefs vm_ops->unmap_page_range does nothing, no zap and no unlink', () => {
    const r = runOn(policyByName('mshare-v2')!);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('mshare_vm_op_unmap_page_range');
    expect(ids(r, 'T0').filter((id) => id.startsWith('zap_pte_range') || id.startsWith('mshare_vm_op_unshare'))).toEqual([]);
    expect(count(r, 'T0', 'find_shared_vma.set_p4d')).toBe(1);
    expect(readBack(r)).toMatchObject({ ok: true, value: written(r) });
  });

  it("unshare-hook (v3): the DONTNEED unlinks the sharer's whole slot and flushes it with a P4D stride at the advised page; the next access relinks", () => {
    const r = runOn(v3);
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'sys_madvise'], ['T0', 'mshare_vm_op_unshare_page_range.p4d_clear'], ['T0', 'flush_tlb_func.flush_tlb_one_user'], ['T0', 'sys_madvise.return']);
    expect(pos(r, 'T0', 'find_shared_vma.set_p4d', 1)).toBeGreaterThan(pos(r, 'T0', 'sys_madvise.return'));
    expect(ids(r, 'T0')).not.toContain('zap_pte_range.clear');
    expect(count(r, 'T0', 'find_shared_vma.set_p4d')).toBe(2); // linked at the write, relinked at the read
    expect(readBack(r)).toMatchObject({ ok: true, value: written(r) }); // the host's page was never zapped
    expect(r.trace.filter((e) => e.id === 'mshare_vm_op_unshare_page_range.p4d_clear').map((e) => e.actor)).toEqual(['T0']); // P1 keeps its link
    expect(r.knobsUsed).toEqual(expect.arrayContaining(['madvise', 'shareCount']));
  });

  it("allowed (no version's code; the other reading of the A6 caveat): the zap walks the sharer's link into the host's PTEs under the sharer's locks", () => {
    const r = runScenario(sc, { policy: withMadvise('allowed'), properties: [propertyById('lock-discipline')!] });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', stepId: 'zap_pte_range.clear' });
    expect(r.violation!.message).toContain('without mmap_lock:M.host');
  });

  it('refused (the proposal): madvise on a window fails with EINVAL, decided under the lock where the VMAs are stable', () => {
    const r = runOn(policyByName('mshare-v3-proposed')!);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).not.toContain('tlb_gather_mmu');
    const ret = r.trace.find((e) => e.actor === 'T0' && e.obs?.kind === 'return' && e.id === 'sys_madvise.return');
    expect(ret?.obs).toMatchObject({ result: 'EINVAL' });
  });

  it("host-lock: the zap runs on the host mm under the host's mmap_lock, so the host's PTE goes and the read refaults", () => {
    const r = runOn(withMadvise('host-lock'));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'madvise.host_mmap_read_lock_nested'], ['T0', 'zap_pte_range.clear'], ['T0', 'madvise.host_mmap_read_unlock']);
  });
});
