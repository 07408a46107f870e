// A sharer's fork (issue 12 item 6; paths/fork.ts, knob listFork): the
// child inherits the window VMA like any shared file VMA, copies no PTE,
// and links the shared table at its first fault; host-side flushes must
// then reach the child's CPUs. Computed per design.

import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import type { Policy } from '../model/policies/policy.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { scenarioFile } from './build.js';
import { expectOrder } from './trace.js';

const FORK = scenarioFile('mshare-fork-sharer');
const FORK_2026 = scenarioFile('m2026-fork-sharer');
const policy = (name: string) => policyByName(name)!;
const withKnob = (p: Policy, knobs: Partial<NonNullable<Policy['mshare']>>): Policy => ({ ...p, name: `${p.name}+test`, mshare: { ...p.mshare!, ...knobs } });

describe("a sharer's fork", () => {
  it('v3: the child copies the window VMA and no PTE, links the shared table at its first fault, and the host flush (flush_tlb_all) reaches its CPU', () => {
    const r = runScenario(FORK, { policy: policy('mshare-v3'), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t0 = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(t0).toContain('dup_mmap.vm_area_dup');
    expect(t0.some((id) => id.startsWith('copy_page_range'))).toBe(false); // vma_needs_copy(): no anon_vma
    const t2 = r.trace.filter((e) => e.actor === 'T2').map((e) => e.id);
    expect(t2).toEqual(expect.arrayContaining(['user_access.page_fault', 'find_shared_vma.set_p4d', 'user_access.walk']));
    expectOrder(r, ['T2', 'user_access.walk'], ['T1', 'zap_pte_range.clear'], ['T1', 'flush_tlb_all.send'], ['ipi@cpu1', 'do_flush_tlb_all'], ['T1', 'remove_vma.fput']);
  });

  it("option (b): the child is in the msharefs i_mmap, so the per-sharer flush finds it, but the zap's flush under the PTL sleeps on i_mmap_rwsem (the design's known finding)", () => {
    const r = runScenario(FORK, { policy: policy('mshare-v3-per-sharer-flush'), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', stepId: 'mshare_invalidate_tlbs.i_mmap_lock_read' });
  });

  it('mshare 2026: the child joins the sharer list through vm_ops->open and the list walk flushes it; with listFork none the child keeps the page after mshare_advise() returns', () => {
    const safe = runScenario(FORK_2026, { policy: policy('mshare-2026'), properties: PROPERTIES });
    expect(safe.verdict).toBe('pass');
    expect(safe.trace.filter((e) => e.id === 'mshare_flush_sharers.next')).toHaveLength(2); // P0 and C
    const unsafe = runScenario(FORK_2026, { policy: withKnob(policy('mshare-2026'), { listFork: 'none' }), properties: PROPERTIES });
    expect(unsafe.violation).toMatchObject({ property: 'unmap-complete', holder: 'TLB', stepId: 'sys_mshare_advise.return' });
    expect(unsafe.violation!.message).toMatch(/CPU1 PCID slot 0 \(sharer C\) still maps 0x80000 -> frame \d+$/);
  });
});
