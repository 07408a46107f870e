// The ordering contract of notifier.ts (include/linux/mmu_notifier.h
// mmu_notifier_invalidate_range_start/_end): start while the pages are
// still mapped, before any PTE in the range changes; end after the last
// PTE change, possibly after a forced flush already freed pages; no step
// at all with no subscription; on a host mm, passed to the sharers found
// in i_mmap under i_mmap_rwsem (Jann Horn's design).

import { describe, expect, it } from 'vitest';
import { anon, madvise, proc, scenario, thread, va, write } from '../../../test/build.js';
import { drive, expectOrder, go, ids, notifiersVisible, observe, X, Y } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import { policyByName } from '../../policies/registry.js';
import { runScenario } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { resolveConfig } from '../config.js';
import { initState } from '../init.js';
import { mmId, ModelError } from '../types.js';
import { findPte } from '../pagetable.js';
import type { KernelState } from '../state.js';
import { PROPERTIES } from '../../../properties/registry.js';

/** T0 dirties X and Y, then zaps both; with `full`, the gather's batch fills after X and forces a flush and free. */
const zapTwo = (full: boolean) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 2)],
    threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X, 2))],
    choices: full ? [{ actor: 'T0', point: 'zap_pte_range.batch_full', nth: 0 }] : [],
  });
/** P0 has a present PTE for byte address `a`. */
const present = (s: KernelState, a: number) => !!findPte(s, s.mms.P0!, va(a))?.pte;
const notifierSteps = (e: StepEvent) => e.actor === 'T0' && e.id.startsWith('mmu_notifier_invalidate_range');

/** Region M (owner P1) mapped by sharer P0; P1 replaces the mapping (a host-side zap); then P0 unmaps its own page. */
const hostChange = parseScenario(`config cpus=2
process P0
process P1
mmap P0 0x10000 pages=1 prot=rw
msharefs M owner=P1
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x80000
  read 0x80000
  write 0x10000
  munmap 0x10000 pages=1
thread T1 P1 cpu=1
  mshare_map M offset=0 pages=1 prot=rw
schedule
  T0 until=user_access.walk
  T1
  T0
`, 'notifier.scn');

describe('notifier.ts: mmu_notifier_invalidate_range_start / _end', () => {
  it('calls start with every PTE of the range still present, and end after the last one is cleared', () => {
    const { r, seen } = observe(zapTwo(false), notifierSteps, (s, e) => [e.id, present(s, X), present(s, Y)], notifiersVisible);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([['mmu_notifier_invalidate_range_start', true, true], ['mmu_notifier_invalidate_range_end', false, false]]);
    const t0 = ids(r, 'T0');
    expect(t0.indexOf('mmu_notifier_invalidate_range_start')).toBeLessThan(t0.indexOf('zap_pte_range.clear'));
    expect(t0.lastIndexOf('zap_pte_range.clear')).toBeLessThan(t0.indexOf('mmu_notifier_invalidate_range_end'));
  });

  it('may call end after a forced flush already freed a page of the range', () => {
    const xFreed = (e: StepEvent) => e.actor === 'T0' && e.id === 'mmu_notifier_invalidate_range_end';
    const { r, seen } = observe(zapTwo(true), xFreed, (s) => s.frames.filter((f) => f.state === 'data').length, notifiersVisible);
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'mmu_notifier_invalidate_range_start'], ['T0', 'tlb_batch_pages_flush'], ['T0', 'mmu_notifier_invalidate_range_end']);
    expect(seen).toEqual([1]); // X's page is already free at end; Y's waits for tlb_finish_mmu
  });

  it('takes no step when no secondary MMU is registered', () => {
    const r = go(zapTwo(false));
    expect(r.verdict).toBe('pass');
    expect(r.trace.filter((e) => e.id.startsWith('mmu_notifier_invalidate_range'))).toEqual([]);
  });

  it('calls a registered subscription, which the model does not have yet: a model error, never a silent pass', () => {
    const s = initState(resolveConfig({}), [proc('P0')]);
    s.mms[mmId('P0')]!.notifiers = ['kvm'];
    expect(() => drive(s, 'T0', 0, 'mmu_notifier_invalidate_range_start', { mm: 'P0', start: 0, end: 1, event: 'UNMAP' })).toThrow(ModelError);
  });

  it("passes a host mm's start and end to the sharers under i_mmap_rwsem, around the host's zap (mshare-v3-proposed)", () => {
    const r = runScenario(hostChange, { policy: policyByName('mshare-v3-proposed')!, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t1 = ids(r, 'T1').filter((id) => id.startsWith('mshare_invalidate_range') || id === 'zap_pte_range.clear');
    expect(t1).toEqual(['mshare_invalidate_range_start.i_mmap_lock_read', 'mshare_invalidate_range_start.i_mmap_unlock_read', 'zap_pte_range.clear', 'mshare_invalidate_range_end.i_mmap_lock_read', 'mshare_invalidate_range_end.i_mmap_unlock_read']);
    expect(r.trace.find((e) => e.actor === 'T1' && e.id === 'mshare_invalidate_range_start.i_mmap_lock_read')!.locks).toContain('i_mmap_rwsem:M');
    // a change to a sharer's own pages is not a host's: nothing is passed on
    expect(ids(r, 'T0').filter((id) => id.startsWith('mshare_invalidate_range'))).toEqual([]);
    expect(ids(r, 'T0')).toContain('zap_pte_range.clear');
  });

  it('passes nothing on designs without pass-through (v3)', () => {
    const r = runScenario(hostChange, { policy: policyByName('mshare-v3')!, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.filter((e) => e.id.startsWith('mshare_invalidate_range'))).toEqual([]);
  });
});
