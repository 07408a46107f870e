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
import flushAfterUnlock from '../variants/pre-565f3be21746-flush-after-unlock.js';
import requestSkip from '../variants/pre-84261923d3dd-request-skip.js';
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
    const r = runScenario(guestAndZap([until('T0', 'guest_access.tdp_walk'), run('T1'), run('T0')]), { policy: linux, properties: PROPERTIES });
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

describe('KVM_RUN: consecutive guest accesses stay in the guest (vcpu_run() loops vcpu_enter_guest())', () => {
  const ids = (sc: Scenario) => runScenario(sc, { policy: linux, properties: PROPERTIES });

  it('a write then a read of the same gfn: one entry after the fault, the read hits the guest TLB, one VM-exit', () => {
    const r = ids(scenario({ setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)], threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 0))] }));
    expect(r.verdict).toBe('pass');
    const t = r.trace.map((e) => e.id);
    const walk = t.indexOf('guest_access.tdp_walk');
    expect(t.slice(walk + 1, walk + 2)).toEqual(['guest_access.tlb_hit']); // no exit, no entry between the two accesses
    expect(t.filter((x) => x === 'kvm_vcpu_run.vmexit')).toHaveLength(1);
    expect(t.filter((x) => x === 'vcpu_enter_guest.vmenter')).toHaveLength(2); // KVM_RUN's entry, and the one after the EPT violation
  });

  it('a flush between two accesses meets the vCPU in guest mode: kick, wait, and the next access exits first', () => {
    const r = ids(guestAndZap([until('T0', 'guest_access.tdp_walk'), until('T1', 'kvm_make_all_cpus_request.kick'), run('T0')]));
    expect(r.verdict).toBe('pass');
    const t = r.trace.map((e) => `${e.actor}:${e.id}`);
    expect(t.indexOf('T0:vmx_vcpu_run.kick_exit')).toBeGreaterThan(t.indexOf('T1:kvm_make_all_cpus_request.kick'));
    expect(t.indexOf('T0:kvm_vcpu_flush_tlb_all')).toBeGreaterThan(t.indexOf('T0:vmx_vcpu_run.kick_exit'));
  });

  it('a sibling\'s exit_group() between two accesses ends KVM_RUN with -EINTR; the rest is never made', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 0)), thread('T1', 'P0', 1, { kind: 'exit' })],
      schedule: [until('T0', 'guest_access.tdp_walk'), until('T1', 'do_group_exit'), run('T0')],
    });
    const r = ids(sc);
    expect(r.verdict).toBe('pass');
    const t0 = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(t0).toContain('kvm_handle_signal_exit');
    expect(t0).not.toContain('guest_access.tlb_hit');
    expect(t0.slice(t0.indexOf('kvm_handle_signal_exit') + 1)).toEqual(['exit_mm.enter_lazy_tlb', 'do_exit']); // killed in user mode
  });

  it("-EFAULT ends KVM_RUN at the failed access; the VMM's next KVM_RUN makes the rest", () => {
    // gfn 0's hva is mapped by no VMA: hva_to_pfn() fails; gfn 1's is
    const r = ids(scenario({ setup: [proc('P0'), anon('P0', X + 0x1000, 1), vm('V0', 'P0', 0, X, 2)], threads: [thread('T0', 'P0', 0, guestRead('V0', 0), guestWrite('V0', 1))] }));
    expect(r.verdict).toBe('pass');
    const t = r.trace.map((e) => e.id);
    expect(t.filter((x) => x === 'kvm_vcpu_run.efault')).toHaveLength(1);
    const after = t.slice(t.indexOf('kvm_vcpu_run.efault') + 1);
    expect(after).toContain('guest_access.tdp_walk'); // the write to gfn 1, in a new KVM_RUN
    expect(after.at(-1)).toBe('kvm_vcpu_run.vmexit');
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
    const sc = guestAndZap([until('T0', 'guest_access.tdp_walk'), run('T1'), run('T0')]);
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
    const sc = guestAndZap([until('T0', 'guest_access.tdp_walk'), run('T1'), run('T0')]);
    const { good, bad } = both(sc, zapNoFlush);
    expect(good.verdict).toBe('pass');
    // once the invalidation has ended the entry is no longer excused
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end', holder: 'guest TLB' });
    const freed = both(sc, zapNoFlush, 'no-freed-frame-reachable');
    expect(freed.good.verdict).toBe('pass');
    expect(freed.bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T1', stepId: 'tlb_batch_pages_flush', holder: 'guest TLB' });
  });

  it('secondary-subset: the flush does not wait for the kicked vCPU, still in the guest when the invalidation ends', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'guest_access.tdp_walk'), run('T1')]), flushNoWait);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => e.id)).toContain('vmx_vcpu_run.kick_exit'); // the kick took T0 out of the guest
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end', holder: 'guest TLB' });
  });

  it('secondary-subset: vcpu_enter_guest without the re-check enters on a guest TLB the request was meant to flush', () => {
    // T0 caches gfn 0, then its access to gfn 1 exits on an EPT violation; T1's zap of gfn 0 comes
    // while T0, back from the fault, re-enters between the request check and the mode store
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2), vm('V0', 'P0', 0, X, 2)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 1)), thread('T1', 'P0', 1, write(X), madvise(X))],
      schedule: [until('T1', 'user_access.walk'), until('T0', 'guest_access.tdp_walk'), until('T0', 'guest_access.ept_violation'), until('T0', 'vcpu_enter_guest.kvm_check_request'), run('T1'), run('T0')],
    });
    const { good, bad } = both(sc, noRecheck);
    expect(good.verdict).toBe('pass');
    expect(good.trace.map((e) => e.id)).toContain('vcpu_enter_guest.cancel_injection');
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T0', stepId: 'vcpu_enter_guest.vmenter', holder: 'guest TLB' });
  });

  it('secondary-subset: the seq sampled after hva_to_pfn() misses an invalidation that ran during GUP', () => {
    const { good, bad } = both(guestAndZap([until('T0', 'get_user_pages.mmap_read_unlock'), run('T1'), run('T0')]), seqAfterGup, 'secondary-subset');
    expect(good.verdict).toBe('pass');
    expect(bad.violation).toMatchObject({ property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' });
  });

  it('no-freed-frame-reachable: the flush after mmu_lock is dropped lets a second zap of the page find nothing to flush (pre-565f3be21746)', () => {
    // T0's vCPU caches gfn 0 and leaves the guest (no request pending: its entry is usable). T1's
    // madvise zaps the SPTE and, on the mutant, drops mmu_lock before its flush; T2's madvise of the
    // same page takes mmu_lock, finds no SPTE, flushes nothing, and frees the page (its CPU flush IPIs
    // answered) while T1 has not yet made the request
    const sc = scenario({
      config: { cpus: 3 },
      setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0)), thread('T1', 'P0', 1, madvise(X)), thread('T2', 'P0', 2, madvise(X))],
      schedule: [run('T0'), until('T1', 'kvm_handle_hva_range.kvm_mmu_unlock'), run('T2'), run('ipi@cpu0'), run('ipi@cpu1'), run('T2'), run('T1')],
    });
    const { good, bad } = both(sc, flushAfterUnlock);
    expect(good.verdict).toBe('pass');
    const t1 = good.trace.filter((e) => e.actor === 'T1').map((e) => e.id);
    expect(t1.indexOf('kvm_make_all_cpus_request.kvm_make_request')).toBeLessThan(t1.indexOf('kvm_handle_hva_range.kvm_mmu_unlock')); // the request is made under mmu_lock
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'tlb_batch_pages_flush', holder: 'guest TLB' });
    const t2 = bad.trace.filter((e) => e.actor === 'T2').map((e) => e.id);
    expect(t2).toContain('kvm_mmu_unmap_gfn_range'); // T2's start zapped nothing
    expect(t2).not.toContain('kvm_make_all_cpus_request.kvm_make_request');
  });

  it('no-freed-frame-reachable: a requester that finds the request bit set neither kicks nor waits (pre-84261923d3dd); the 2009 order alone survives this race', () => {
    // T0's vCPU runs the guest with gfn 0 and gfn 1 in its guest TLB. T1's madvise of gfn 0's page
    // has zapped, dropped mmu_lock (the 2009 order) and set the bit, not yet kicked; T2's madvise of
    // gfn 1's page zaps, finds the bit set, and on the mutant skips the vCPU: no kick, no wait, and
    // the page goes while T0 still runs the guest on it. With only the 2009 order T2 kicks T0 too
    // and waits for it.
    const sc = scenario({
      config: { cpus: 3 },
      setup: [proc('P0'), anon('P0', X, 2), vm('V0', 'P0', 0, X, 2)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestWrite('V0', 1), guestRead('V0', 1)), thread('T1', 'P0', 1, madvise(X)), thread('T2', 'P0', 2, madvise(X + 0x1000))],
      schedule: [
        until('T0', 'guest_access.tdp_walk'),
        until('T0', 'guest_access.tdp_walk'),
        until('T1', 'kvm_make_all_cpus_request.kvm_make_request'),
        run('T2'),
        run('ipi@cpu0'),
        run('ipi@cpu1'),
        run('T2'),
        run('T1'),
      ],
    });
    const { good, bad } = both(sc, requestSkip);
    expect(good.verdict).toBe('pass');
    const order2009 = both(sc, flushAfterUnlock).bad;
    expect(order2009.verdict).toBe('pass');
    const t2 = order2009.trace.filter((e) => e.actor === 'T2').map((e) => e.id);
    expect(t2).toContain('kvm_make_all_cpus_request.kick');
    expect(t2).toContain('kvm_make_all_cpus_request.wait');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'tlb_batch_pages_flush', holder: 'guest TLB' });
    expect(bad.violation!.message).toContain('gfn 1');
    expect(bad.trace.filter((e) => e.actor === 'T2').map((e) => e.id)).not.toContain('kvm_make_all_cpus_request.kick');
  });

  it('read-value: a guest read through the stale guest TLB after the page was reused', () => {
    const sc = scenario({
      config: { cpus: 3 },
      setup: [proc('P0'), anon('P0', X, 2), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 0)), thread('T1', 'P0', 1, madvise(X)), thread('T2', 'P0', 2, write(X + 0x1000))],
      // T1's madvise returns (the IPI to CPU0 answered) before T2 reuses the freed frame and T0 reads
      schedule: [until('T0', 'guest_access.tdp_walk'), until('T1', 'native_flush_tlb_multi.send'), run('ipi@cpu0'), run('T1'), run('T2'), run('T0')],
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
