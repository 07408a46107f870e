// Hazard 19 (docs/mshare-hazards.md): the notifier pass-through of a
// shared-table design. (a) computed: passing the host's
// arch_invalidate_secondary_tlbs() through to the sharers (what an SVA
// device TLB on a sharer needs) takes i_mmap_rwsem where the page-table
// lock may be held; mshare-v3-proposed passes through only
// invalidate_range_start/end and holds on the same operations. (b)
// computed: mm_take_all_locks() of a sharer does not wait for a host-side
// change between its start and end (paths/mmu_notifier_register.ts).

import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { loadCounterexample } from '../reports/counterexample.js';
import { PROPERTIES } from '../properties/registry.js';
import passthroughSecondaryTlbs from '../patches/passthrough-secondary-tlbs.js';
import holdIMmap from '../patches/passthrough-hold-i-mmap.js';
import { defineVariant } from '../model/policies/variant.js';
import { file, guestRead, kvmCreateVm, proc, reclaim, run, scenario, scenarioFile, shared, thread, until, vm, write } from './build.js';

describe('hazard 19 (a): the pass-through of arch_invalidate_secondary_tlbs', () => {
  // the operations of per-sharer-flush's saved sleep under the PTL: a sharer writes its window, then exits
  const { scenario } = loadCounterexample('counterexamples/mshare-v3-per-sharer-flush-lock-discipline-4e8ccbefa9d1.json');
  const proposed = policyByName('mshare-v3-proposed')!;

  it('sleeps on i_mmap_rwsem under the page-table lock', () => {
    const r = runScenario(scenario, { policy: applyVariant(proposed, passthroughSecondaryTlbs), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', stepId: 'passthrough-secondary-tlbs:i_mmap_lock_read' });
    expect(r.violation!.message).toMatch(/might_sleep \(i_mmap_rwsem:M\) in atomic context holding ptl:/);
  });

  it('mshare-v3-proposed, passing through only start and end, holds on the same operations', () => {
    expect(runScenario(scenario, { policy: proposed, properties: PROPERTIES }).verdict).toBe('pass');
  });
});

describe('hazard 19 (b): a notifier registering on a sharer while a host-side change is between start and end', () => {
  const sc = scenarioFile('hazard19b-register-inside-host-invalidate');

  it('mshare-v3-proposed: the owner\'s MSHAREFS_UNMAP passes its end, not its start, to the KVM that registered in between (notifier-balance)', () => {
    const r = runScenario(sc, { policy: policyByName('mshare-v3-proposed')!, properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1', stepId: 'kvm_mmu_invalidate_end' });
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    // mm_take_all_locks(P0) took M's i_mmap_rwsem: between the pass-through's two walks, nothing held it
    expect(ids.indexOf('T0:mm_take_all_locks.i_mmap_lock_write')).toBeGreaterThan(ids.indexOf('T1:mshare_invalidate_range_start.i_mmap_unlock_read'));
    expect(ids.indexOf('T0:mm_take_all_locks.i_mmap_lock_write')).toBeLessThan(ids.indexOf('T1:mshare_invalidate_range_end.i_mmap_lock_read'));
  });

  it('a pass-through that holds i_mmap_rwsem from start to end (patches/passthrough-hold-i-mmap.ts) holds, and so do the saved detach and attach findings', () => {
    const patched = applyVariant(policyByName('mshare-v3-proposed')!, holdIMmap);
    const r = runScenario(sc, { policy: patched, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    // the registration waited for the host's end
    expect(ids.indexOf('T0:mm_take_all_locks.i_mmap_lock_write')).toBeGreaterThan(ids.indexOf('T1:mshare_invalidate_range_end.i_mmap_unlock_read'));
    // the saved detach finding, and the attach one (a sharer with a VM attaching between the host's start and end)
    for (const f of ['mshare-v3-proposed-notifier-balance-8ec9c4a6bf69.json', 'mshare-v3-proposed-notifier-balance-83b2206e83c7.json']) {
      const cx = loadCounterexample(`counterexamples/${f}`);
      expect(runScenario(cx.scenario, { policy: patched, properties: PROPERTIES }).verdict, f).toBe('pass');
      expect(runScenario(cx.scenario, { policy: policyByName('mshare-v3-proposed')!, properties: PROPERTIES }).violation?.property, f).toBe('notifier-balance');
    }
  });

  // mainline's own rmap walkers hold the rmap lock from start to end, which mm_take_all_locks() waits for
  const X = 0x10000;
  const reclaimSc = scenario({
    setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F'), vm('V0', 'P0', 0, X)],
    threads: [thread('T0', 'P0', 0, write(X), kvmCreateVm('V0'), guestRead('V0', 0)), thread('T1', 'P0', 1, reclaim(X))],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'page_vma_mapped_walk.pte_offset_map_lock'), run('T0'), run('T1'), run('T0')],
  });
  const noMapping = defineVariant({ name: 'test-no-vm-lock-mapping', description: 'test only: mm_take_all_locks() takes no i_mmap_rwsem', edit: (v) => v.drop('mm_take_all_locks.vm_lock_mapping') });

  it('linux: the registration waits for reclaim\'s rmap walk (i_mmap_rwsem) and holds; without the i_mmap locks it does not', () => {
    const linux = policyByName('linux')!;
    const ok = runScenario(reclaimSc, { policy: linux, properties: PROPERTIES });
    expect(ok.verdict).toBe('pass');
    const ids = ok.trace.map((e) => `${e.actor}:${e.id}`);
    expect(ids.indexOf('T0:mmu_notifier_register.hlist_add_head_rcu')).toBeGreaterThan(ids.lastIndexOf('T1:rmap_walk_file.i_mmap_unlock_read'));
    const bad = runScenario(reclaimSc, { policy: applyVariant(linux, noMapping), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1' });
  });
});
