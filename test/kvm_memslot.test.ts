// Memslot deletion (paths/kvm_set_memslot.ts, docs/kvm.md "Memslot
// deletion"): KVM_SET_USER_MEMORY_REGION with memory_size 0 while vCPUs
// fault and the VMM's MMU notifier invalidates. Each hand scenario holds on
// linux, and the ordering it depends on is shown failing without it.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { validateScenario } from '../model/run/validate.js';
import { PROPERTIES } from '../properties/registry.js';
import { parseScenario } from '../reports/scenario_text.js';
import pre52ac8b from '../variants/pre-52ac8b358b0c.js';
import { scenarioFile as load, traceIds, tracePos } from './build.js';

const ids = traceIds;
const pos = tracePos;

describe('memslot deletion on linux', () => {
  it('waits for an MMU-notifier invalidation in flight before it publishes the INVALID slot (52ac8b358b0c), so the end sees the start\'s memslots', () => {
    const r = runScenario(load('kvm-delete-memslot-during-invalidation'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    // T2 took the wait step once T1's end had dropped mn_active_invalidate_count, and published only then
    expect(pos(r, 'T2', 'kvm_invalidate_memslot.mn_active_invalidate_count')).toBeGreaterThan(pos(r, 'T1', 'kvm_mmu_notifier_invalidate_range_end.mn_active_invalidate_count'));
    expect(pos(r, 'T1', 'kvm_mmu_invalidate_end')).toBeGreaterThan(0); // the end found the slot and balanced the begin
    expect(pos(r, 'T2', 'kvm_invalidate_memslot.rcu_assign_pointer')).toBeGreaterThan(pos(r, 'T1', 'kvm_mmu_invalidate_end'));
  });

  it('waits in synchronize_srcu for a fault that looked the valid slot up, then zaps the SPTE it made; the next access is MMIO', () => {
    const r = runScenario(load('kvm-guest-access-racing-memslot-delete'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    // the fault installed its SPTE after the INVALID slot was published, and the root was retired after the fault left mmu_lock
    expect(pos(r, 'T0', 'tdp_mmu_map_handle_target_level')).toBeGreaterThan(pos(r, 'T1', 'kvm_invalidate_memslot.rcu_assign_pointer'));
    expect(pos(r, 'T1', 'kvm_tdp_mmu_invalidate_all_roots')).toBeGreaterThan(pos(r, 'T0', 'kvm_tdp_mmu_map.read_unlock'));
    expect(pos(r, 'T1', 'tdp_mmu_zap_root')).toBeGreaterThan(pos(r, 'T1', 'kvm_tdp_mmu_invalidate_all_roots'));
    expect(ids(r, 'T0').filter((id) => id === 'kvm_vcpu_run.mmio_exit')).toHaveLength(2); // the write and the read, both after the delete
    expect(r.trace.some((e) => e.actor === 'T0' && e.obs?.kind === 'access')).toBe(false); // no guest access was made: the SPTE was gone before the guest used it
  });

  it('a fault that finds the INVALID copy retries without resolving a pfn, and exits as MMIO once the slot is gone', () => {
    const r = runScenario(load('kvm-fault-on-invalid-memslot'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0).toContain('kvm_mmu_faultin_pfn.memslot_invalid');
    expect(t0).not.toContain('get_user_pages.mmap_read_lock');
    expect(t0.at(-1)).toBe('kvm_vcpu_run.mmio_exit');
  });
});

describe('what breaks without the ordering', () => {
  it('pre-52ac8b358b0c: the slot deleted between start and end leaves the end nothing to walk, and in_progress stays raised', () => {
    const bad = runScenario(load('kvm-delete-memslot-during-invalidation'), { policy: applyVariant(linux, pre52ac8b), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1' });
    expect(bad.violation!.message).toBe("V0's mmu_invalidate_in_progress is 1 with 0 invalidate_range_start call(s) and guest_memfd invalidation(s) open on P0");
    expect(ids(bad, 'T1')).not.toContain('kvm_mmu_invalidate_end');
  });

  it('a fault that ignored KVM_MEMSLOT_INVALID would leave an SPTE outside every memslot (secondary-subset sees it)', () => {
    const ignoresInvalid = defineVariant({
      name: 'test-fault-ignores-invalid-memslot',
      description: 'kvm_mmu_faultin_pfn() does not retry on an INVALID memslot (test only)',
      edit: (v) =>
        v.replace('kvm_mmu_faultin_pfn.memslot_invalid', function* () {
          // no check
        }),
    });
    const bad = runScenario(load('kvm-fault-on-invalid-memslot'), { policy: applyVariant(linux, ignoresInvalid), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', holder: 'SPTE', actor: 'T1', stepId: 'kvm_delete_memslot.rcu_assign_pointer' });
    expect(bad.violation!.message).toBe("V0's SPTE for gfn 0 maps frame 4 writable, but outside every memslot");
  });
});

describe('kvm_delete_memslot in a scenario', () => {
  const base = 'process P0\nprocess P1\nmmap P0 0x10000 pages=1 prot=rw\nvm V0 P0 slots=0@0x10000+1\n';
  it('is refused for a slot the VM does not have, and from a thread of another process', () => {
    expect(validateScenario(parseScenario(`${base}thread T0 P0 cpu=0\n  kvm_delete_memslot V0 slot=1\n`), linux)).toEqual({ near: 'T0', problem: "kvm_delete_memslot of slot 1: vm 'V0' has 1 memslot(s)" });
    expect(validateScenario(parseScenario(`${base}thread T0 P1 cpu=0\n  kvm_delete_memslot V0 slot=0\n`), linux)).toEqual({ near: 'T0', problem: "thread 'T0' of process 'P1' deletes a memslot of vm 'V0', which belongs to process 'P0'" });
  });

  it('a second delete of the same slot is -EINVAL and changes nothing', () => {
    const r = runScenario(parseScenario(`${base}thread T0 P0 cpu=0\n  kvm_delete_memslot V0 slot=0\n  kvm_delete_memslot V0 slot=0\n`), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0').filter((id) => id === 'kvm_set_memory_region.einval')).toHaveLength(1);
    expect(ids(r, 'T0').filter((id) => id === 'kvm_delete_memslot.rcu_assign_pointer')).toHaveLength(1);
  });
});
