// The TDP MMU's roots and table pages (paths/kvm_tdp_root.ts, docs/kvm.md
// "TDP roots and table pages"): a vCPU loads a root, a memslot deletion
// retires it, the tables go through RCU, and kvm_mmu_load() flushes what
// a freed root's frame left tagged in the CPU.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { allocTdpTable } from '../model/kernel/paths/kvm_tdp_root.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import noFlush from '../variants/kvm-mmu-load-no-flush.js';
import { parseScenario } from '../reports/scenario_text.js';
import { scenarioFile as load, traceIds, tracePos } from './build.js';

const ids = traceIds;
const pos = tracePos;

describe('TDP roots on linux', () => {
  it('a retired root and its page table are freed by RCU, and the next root gets the root frame back behind a flush', () => {
    const r = runScenario(load('kvm-root-reused-after-memslot-delete'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0.filter((id) => id === 'kvm_tdp_mmu_alloc_root')).toHaveLength(2);
    expect(t0.filter((id) => id === 'kvm_mmu_load.flush_tlb_current')).toHaveLength(2);
    // the deletion retired the root under mmu_lock, asked T0 to drop it, then zapped it
    expect(pos(r, 'T1', 'kvm_tdp_mmu_invalidate_all_roots')).toBeLessThan(pos(r, 'T1', 'kvm_make_all_cpus_request.kvm_make_request'));
    expect(pos(r, 'T1', 'kvm_make_all_cpus_request.kvm_make_request')).toBeLessThan(pos(r, 'T1', 'kvm_mmu_zap_all_fast.kvm_mmu_unlock'));
    expect(pos(r, 'T1', 'tdp_mmu_zap_root')).toBeGreaterThan(pos(r, 'T1', 'kvm_mmu_zap_all_fast.kvm_mmu_unlock'));
    // T0's put was the last: the rcu actor freed both table pages before T0's second kvm_mmu_load()
    const frees = r.trace.filter((e) => e.actor === 'rcu' && e.id === 'rcu_do_batch.__tlb_remove_table');
    expect(frees).toHaveLength(2);
    expect(pos(r, 'T0', 'kvm_mmu_free_obsolete_roots')).toBeLessThan(r.trace.indexOf(frees[0]!));
    const loads = r.trace.flatMap((e, i) => (e.actor === 'T0' && e.id === 'kvm_tdp_mmu_alloc_root' ? [i] : []));
    expect(loads[1]).toBeGreaterThan(r.trace.indexOf(frees[1]!));
  });
});

describe('what breaks without the flush on load', () => {
  it('kvm-mmu-load-no-flush: entries tagged with the freed root\'s frame are live again under the new root', () => {
    const bad = runScenario(load('kvm-root-reused-after-memslot-delete'), { policy: applyVariant(linux, noFlush), properties: PROPERTIES });
    expect(bad.verdict).toBe('violation');
    expect(bad.violation).toMatchObject({ actor: 'T0' });
    expect(['secondary-subset', 'no-freed-table-reachable']).toContain(bad.violation!.property);
    expect(bad.violation!.message).toMatch(/gfn 0|page table/);
  });
});

describe('what breaks without the request or the vCPU\'s reference', () => {
  // kvm_mmu_zap_all_fast() without KVM_REQ_MMU_FREE_OBSOLETE_ROOTS: nothing takes the vCPU out of the guest (test only)
  const noRequest = defineVariant({
    name: 'test-zap-all-fast-no-request',
    description: 'kvm_mmu_zap_all_fast() invalidates the roots without KVM_REQ_MMU_FREE_OBSOLETE_ROOTS (test only)',
    edit: (v) => v.drop('kvm_mmu_zap_all_fast.kvm_make_all_cpus_request'),
  });

  it('linux: the vCPU is kicked out of the guest and drops the root before its page table is freed', () => {
    const r = runScenario(load('kvm-memslot-delete-vcpu-in-guest'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(pos(r, 'T0', 'vmx_vcpu_run.kick_exit')).toBeGreaterThan(pos(r, 'T1', 'kvm_make_all_cpus_request.kick'));
    expect(pos(r, 'T1', 'tdp_mmu_zap_root')).toBeGreaterThan(pos(r, 'T0', 'vmx_vcpu_run.kick_exit'));
    expect(ids(r, 'rcu')).toContain('rcu_do_batch.__tlb_remove_table');
  });

  it('without the request the vCPU stays in the guest, its guest PSC on the page table the rcu actor frees', () => {
    const bad = runScenario(load('kvm-memslot-delete-vcpu-in-guest'), { policy: applyVariant(linux, noRequest), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'guest PSC', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' });
  });

  it('with a root the vCPU holds no reference on, the root itself is freed under the vCPU in the guest (holder EPTP)', () => {
    const noRef = defineVariant({
      name: 'test-alloc-root-no-vcpu-ref',
      description: 'kvm_tdp_mmu_alloc_root() takes no reference for the vCPU, and no request retires it (test only)',
      edit: (v) =>
        v
          .drop('kvm_mmu_zap_all_fast.kvm_make_all_cpus_request')
          .replace('kvm_tdp_mmu_alloc_root', function* (k, c: { vm: string }) {
            const vm = k.s.kvm!.vms[c.vm]!;
            let r = vm.roots?.find((x) => !x.invalid);
            if (!r) (vm.roots ??= []).push((r = { ...allocTdpTable(k.s, c.vm, 'root'), pt: null, refs: 1 }));
            const v = k.s.kvm!.vcpus[k.self]!;
            v.root = { pfn: r.pfn, ghost: r.ghost };
            v.loadFlushPending = true;
            yield { id: 'kvm_tdp_mmu_alloc_root' };
          }),
    });
    // the vCPU enters the guest and has made no access yet: no page table, only the root
    const sc = parseScenario(readFileSync('test/scenarios/kvm-memslot-delete-vcpu-in-guest.txt', 'utf8').replace('T0 until=guest_access.tdp_walk', 'T0 until=vcpu_enter_guest.vmenter'), 'inline');
    expect(runScenario(sc, { policy: linux, properties: PROPERTIES }).verdict).toBe('pass');
    const bad = runScenario(sc, { policy: applyVariant(linux, noRef), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'EPTP', actor: 'rcu' });
    expect(bad.violation!.message).toMatch(/^T0 runs on the TDP root at frame \d+, which is free$/);
  });
});
