// The ordering contract of gup.ts (mm/gup.c get_user_pages, the slow
// path), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, madvise, proc, run, scenario, thread, until, write } from '../../../test/build.js';
import { at, expectOrder, go, ids, observe, X } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import type { Op } from '../../run/scenario.js';
import { runScenario } from '../../run/runner.js';
import { policyByName } from '../../policies/registry.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import type { Policy } from '../../policies/policy.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import type { KernelState } from '../state.js';
import { PROPERTIES } from '../../../properties/registry.js';

const gupSlow = (addr: number): Op => ({ kind: 'get_user_pages', va: addr >> 12 });
const WALK = ['get_user_pages.mmap_read_lock', 'follow_pgd_mask', 'follow_pud_mask', 'follow_pmd_mask', 'follow_page_pte.pte_offset_map_lock', 'follow_page_pte.try_grab_folio', 'follow_page_pte.pte_unmap_unlock', 'get_user_pages.mmap_read_unlock', 'get_user_pages.unpin_user_page'];

/** T0 wrote X; T1 on CPU1 pins X with get_user_pages, alone or beside T0's madvise (schedule given). */
const pin = (schedule: ReturnType<typeof run>[] = [], zap = false) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), ...(zap ? [madvise(X)] : [])), thread('T1', 'P0', 1, gupSlow(X))],
    schedule: [until('T0', 'user_access.walk'), ...schedule],
  });
const xFrame = (s: KernelState) => s.frames.find((f) => f.state === 'data')!;

/** Sharer P0 pins its msharefs page with get_user_pages. */
const throughSharer = parseScenario(`config cpus=2
process P0
msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x80000
  write 0x80000
  get_user_pages 0x80000
`, 'gup.scn');
const gupSteps = (e: StepEvent) => e.actor === 'T0' && (e.id.startsWith('get_user_pages') || e.id.startsWith('follow_'));

describe('gup.ts: get_user_pages under mmap_read_lock', () => {
  it('takes mmap_read_lock first, walks, pins, unlocks, and unpins last (steps 1-4)', () => {
    const r = go(pin());
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1').filter((id) => WALK.includes(id))).toEqual(WALK);
    const held = (id: string) => r.trace.find((e) => e.actor === 'T1' && e.id === id)!.locks;
    for (const id of WALK.slice(1, 4)) expect(held(id), id).toEqual(['mmap_lock:P0']); // upper levels: plain loads, no PTL
    expect(held('follow_page_pte.try_grab_folio')).toEqual(['mmap_lock:P0', expect.stringMatching(/^ptl:\d+$/)]);
    expect(held('get_user_pages.unpin_user_page')).toEqual([]);
  });

  it('holds a pin on the page from try_grab_folio to the unpin, and is a walker until the unlock (steps 3-4)', () => {
    const when = (e: StepEvent) => e.actor === 'T1' && WALK.includes(e.id);
    const { r, seen } = observe(pin(), when, (s, e) => [e.id, xFrame(s).refcount, s.tasks.T1!.walker !== null]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      ['get_user_pages.mmap_read_lock', 1, false],
      ['follow_pgd_mask', 1, true],
      ['follow_pud_mask', 1, true],
      ['follow_pmd_mask', 1, true],
      ['follow_page_pte.pte_offset_map_lock', 1, true],
      ['follow_page_pte.try_grab_folio', 2, true], // get_page() under the PTL
      ['follow_page_pte.pte_unmap_unlock', 2, true],
      ['get_user_pages.mmap_read_unlock', 2, false],
      ['get_user_pages.unpin_user_page', 1, false],
    ]);
  });

  it('waits for the PTE lock a zap holds and then finds the PTE gone: nothing to pin (step 3)', () => {
    const r = go(pin([until('T0', 'zap_pte_range.clear'), run('T1'), run('T0'), run('T1')], true));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'zap_pte_range.clear'], ['T1', 'follow_pmd_mask'], ['T0', 'zap_pte_range.pte_unmap_unlock'], ['T1', 'follow_page_pte.pte_offset_map_lock']);
    expect(ids(r, 'T1')).not.toContain('get_user_pages.unpin_user_page');
  });

  it('walks with IRQs on: a flush IPI to its CPU runs in the middle of the walk (step 2)', () => {
    const r = go(pin([until('T1', 'follow_pud_mask'), until('T0', 'native_flush_tlb_multi.send'), run('ipi@cpu1'), run('T0'), run('T1')], true));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T1', 'follow_pud_mask'], ['ipi@cpu1', 'csd_unlock'], ['T0', 'native_flush_tlb_multi.wait'], ['T1', 'follow_pmd_mask']);
    expect(r.coverage.ipi_held_off_by_irqs_off).toBe(0); // unlike gup_fast, nothing holds the IPI off
  });

  it("through an msharefs VMA walks the host's tables under the sharer's lock only on v3 (step 1)", () => {
    const { r, seen } = observe(throughSharer, gupSteps, (_s, e) => [e.id, e.locks.filter((l) => l.startsWith('mmap_lock'))], policyByName('mshare-v3')!);
    expect(r.verdict).toBe('pass');
    expect(seen.map(([id]) => id)).toEqual(WALK);
    expect(seen.find(([id]) => id === 'follow_page_pte.try_grab_folio')![1]).toEqual(['mmap_lock:P0']); // not the host's (hazard 16)
  });

  it("takes the host's mmap_lock nested inside the sharer's and drops it first, in the proposal (step 1)", () => {
    const { r, seen } = observe(throughSharer, gupSteps, (_s, e) => [e.id, e.locks.filter((l) => l.startsWith('mmap_lock'))], policyByName('mshare-v3-proposed')!);
    expect(r.verdict).toBe('pass');
    expect(seen.map(([id]) => id)).toEqual([WALK[0], 'get_user_pages.host_mmap_read_lock_nested', ...WALK.slice(1, 7), 'get_user_pages.host_mmap_read_unlock', ...WALK.slice(7)]);
    expect(seen.find(([id]) => id === 'follow_page_pte.try_grab_folio')![1]).toEqual(['mmap_lock:M.host', 'mmap_lock:P0']); // both held (the list is sorted; the order is in the step ids)
  });

  it('neither walks nor pins through an msharefs VMA when the design refuses GUP there (step 1)', () => {
    const refused: Policy = applyVariant(policyByName('mshare-v3')!, defineVariant({ name: 'gup-refused', description: 'GUP through a sharer VMA fails with -EFAULT', edit: (v) => v.knobs({ gup: 'refused' }) }));
    const r = runScenario(throughSharer, { policy: refused, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0').filter((id) => id.startsWith('get_user_pages') || id.startsWith('follow_'))).toEqual(['get_user_pages.mmap_read_lock', 'get_user_pages.mmap_read_unlock']);
  });

  it('touches no table outside a VMA (step 1)', () => {
    const { r, seen } = observe(scenario({ setup: [proc('P0')], threads: [thread('T1', 'P0', 1, gupSlow(X))] }), at('T1', 'get_user_pages.mmap_read_unlock'), (s) => s.tasks.T1!.walker);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([null]);
    expect(ids(r, 'T1').filter((id) => id.startsWith('follow_'))).toEqual([]);
  });
});
