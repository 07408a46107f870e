// KVM's secondary MMU (paths/kvm_*.ts): each KVM property fails on a
// broken path and holds on linux for the same scenario, and each kept KVM
// mutant (variants/) breaks the rule it names.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant, type VariantSpec } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import noRetry from '../variants/pre-e930bffe95e1-no-retry.js';
import zapNoFlush from '../variants/pre-a835429cda91-zap-no-flush.js';
import flushNoWait from '../variants/kvm-tlb-flush-no-wait.js';
import noRecheck from '../variants/kvm-enter-no-request-recheck.js';
import seqAfterGup from '../variants/kvm-mmu-seq-after-gup.js';
import { putPage } from '../model/kernel/frames.js';
import type { Pfn } from '../model/kernel/types.js';
import { anon, guestRead, guestWrite, madvise, proc, run, scenario, scenarioFile, thread, until, vm, write } from './build.js';
import { guestAndZap, guestMmFault, invalidateEndNoDec, munmapNoNotifierEnd, X } from './mutant_cases.js';

function both(sc: Scenario, spec: VariantSpec, only?: string) {
  const properties = only ? [propertyById(only)!] : PROPERTIES;
  return { good: runScenario(sc, { policy: linux, properties }), bad: runScenario(sc, { policy: applyVariant(linux, spec), properties }) };
}

describe('KVM on linux', () => {
  it('a guest write is seen by the VMM and a read after MADV_DONTNEED reads zero through a new SPTE', () => {
    const r = runScenario(guestAndZap([until('T0', 'kvm_vcpu_run.vmexit'), run('T1'), run('T0')]), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.map((e) => e.id);
    expect(ids).toContain('tdp_mmu_zap_leafs'); // the start zapped the SPTE
    expect(ids).toContain('kvm_vcpu_flush_tlb_all'); // the request reached T0 before it entered again
    const reads = r.trace.filter((e) => e.obs?.kind === 'access' && e.actor === 'T0' && !e.obs.write);
    expect(reads.map((e) => (e.obs as { value: number }).value)).toEqual([0]);
  });

  it('a fault whose pfn went stale retries, and waits for an open invalidation of its gfn', () => {
    const sc = guestAndZap([until('T0', 'get_user_pages.mmap_read_unlock'), until('T1', 'kvm_handle_hva_range.kvm_mmu_unlock'), run('T0', 6), run('T1'), run('T0')]);
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.map((e) => e.id)).toContain('is_page_fault_stale.retry');
  });
});

describe('KVM and reclaim', () => {
  // kvm_release_faultin_page() as the model had it before 0.8.2: the page unpinned, never marked dirty
  const noDirty: VariantSpec = { name: 'kvm-release-no-dirty', description: 'test: kvm_release_faultin_page() does not mark a writably mapped folio dirty', edit: (v) => v.replace('kvm_release_faultin_page', function* (k, c: { pfn?: Pfn }) {
    putPage(k.s, c.pfn!);
    yield { id: 'kvm_release_faultin_page' };
  }) };

  it('a folio KVM mapped writable is dirty, so reclaim keeps what the guest wrote (read-value fails without the mark)', () => {
    const { good, bad } = both(scenarioFile('kvm-guest-write-then-reclaim'), noDirty);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => e.id)).toContain('shrink_folio_list.activate_locked');
    const reads = good.trace.filter((e) => e.obs?.kind === 'access' && e.actor === 'T3');
    expect(reads.map((e) => (e.obs as { value: number }).value)).toEqual([1]);
    expect(bad.verdict).toBe('violation');
    expect(bad.violation?.property).toBe('read-value');
  });
});

describe('each KVM property fails on a broken path and holds on linux', () => {
  it('secondary-subset: no retry check, the stale pfn is mapped after the invalidation (pre-e930bffe95e1)', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'get_user_pages.mmap_read_unlock'), run('T1'), run('T0')]), noRetry, 'secondary-subset');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level', holder: 'SPTE' });
  });

  it('no-spte-in-window: no retry check, an SPTE installed while the invalidation of its gfn is open', () => {
    const sc = guestAndZap([until('T1', 'kvm_handle_hva_range.kvm_mmu_unlock'), run('T0'), run('T1')]);
    const { good, bad } = both(sc, noRetry, 'no-spte-in-window');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'no-spte-in-window', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level', holder: 'SPTE' });
  });

  it('notifier-balance: kvm_mmu_invalidate_end forgets mmu_invalidate_in_progress--', () => {
    const sc = guestAndZap([until('T0', 'kvm_vcpu_run.vmexit'), run('T1'), run('T0')]);
    const { good, bad } = both(sc, invalidateEndNoDec, 'notifier-balance');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1', holder: 'notifier' });
    expect(bad.violation!.message).toContain('mmu_invalidate_in_progress is 1 with 0');
  });

  it('notifier-balance: an munmap that never calls invalidate_range_end', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0)), thread('T1', 'P0', 1, { kind: 'munmap', va: X >> 12, pages: 1 })],
      schedule: [run('T0'), run('T1')],
    });
    const { good, bad } = both(sc, munmapNoNotifierEnd, 'notifier-balance');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'notifier-balance', actor: 'T1', stepId: 'sys_munmap.return' });
  });

  it('secondary-subset and no-freed-frame-reachable: the zap loses its remote flush, the guest TLB keeps the page (pre-a835429cda91)', () => {
    const sc = guestAndZap([until('T0', 'kvm_vcpu_run.vmexit'), run('T1'), run('T0')]);
    const { good, bad } = both(sc, zapNoFlush);
    expect(good.verdict).toBe('pass');
    // once the invalidation has ended the entry is no longer excused
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end', holder: 'guest TLB' });
    const freed = both(sc, zapNoFlush, 'no-freed-frame-reachable');
    expect(freed.good.verdict).toBe('pass');
    expect(freed.bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T1', stepId: 'tlb_batch_pages_flush', holder: 'guest TLB' });
  });

  it('secondary-subset: the flush does not wait for the kicked vCPU, still in the guest when the invalidation ends', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'kvm_vcpu_run.vmexit'), until('T0', 'vcpu_enter_guest.vmenter'), run('T1')]), flushNoWait);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => e.id)).toContain('vmx_vcpu_run.kick_exit'); // the kick took T0 out of the guest
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end', holder: 'guest TLB' });
  });

  it('secondary-subset: vcpu_enter_guest without the re-check enters on a guest TLB the request was meant to flush', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'kvm_vcpu_run.vmexit'), until('T0', 'vcpu_enter_guest.kvm_check_request'), run('T1'), run('T0')]), noRecheck);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => e.id)).toContain('vcpu_enter_guest.cancel_injection');
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T0', stepId: 'vcpu_enter_guest.vmenter', holder: 'guest TLB' });
  });

  it('secondary-subset: the seq sampled after hva_to_pfn() misses an invalidation that ran during GUP', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'get_user_pages.mmap_read_unlock'), run('T1'), run('T0')]), seqAfterGup, 'secondary-subset');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' });
  });

  it('read-value: a guest read through the stale guest TLB after the page was reused', () => {
    const sc = scenario({
      config: { cpus: 3 },
      setup: [proc('P0'), anon('P0', X, 2), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 0)), thread('T1', 'P0', 1, madvise(X)), thread('T2', 'P0', 2, write(X + 0x1000))],
      // T1's madvise returns (the IPI to CPU0 answered) before T2 reuses the freed frame and T0 reads
      schedule: [until('T0', 'kvm_vcpu_run.vmexit'), until('T1', 'native_flush_tlb_multi.send'), run('ipi@cpu0'), run('T1'), run('T2'), run('T0')],
    });
    const { good, bad } = both(sc, zapNoFlush, 'read-value');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'guest_access.tlb_hit' });
  });

  it('the guest access fault path reaches the VMM fault handler (hva_to_pfn faults the page in)', () => {
    const r = runScenario(guestMmFault(), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.map((e) => e.id)).toContain('do_anonymous_page.set_pte_at');
  });
});
