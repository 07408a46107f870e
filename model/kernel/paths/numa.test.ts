// The ordering contract of numa.ts (kernel/sched/fair.c task_numa_work ->
// change_prot_numa, mm/memory.c do_numa_page), one test per numbered step
// of its header.

import { describe, expect, it } from 'vitest';
import { anon, proc, read, run, scenario, thread, write } from '../../../test/build.js';
import { accesses, at, expectOrder, go, ids, observe, pteOf, Q, X } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import { policyByName } from '../../policies/registry.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { propertyById } from '../../../properties/registry.js';

const numaScan = { kind: 'numa_scan' as const };
const FAR = 0x40000;

/** T0 writes X and scans; T1 of P1 runs on CPU1 meanwhile; T0 then reads X again. */
const scanned = () =>
  scenario({
    setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P0', FAR, 1, 'none'), anon('P1', Q, 1)],
    threads: [thread('T0', 'P0', 0, write(X), numaScan, read(X)), thread('T1', 'P1', 1, write(Q))],
    schedule: [run('T1'), run('T0')],
  });

/** Sharer P0 scans while region M is mapped and faulted in through its msharefs VMA. */
const sharerScan = parseScenario(`config cpus=2
process P0
msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x80000
  read 0x80000
  numa_scan
`, 'numa.scn');

describe('numa.ts: NUMA hinting', () => {
  it('makes present PTEs PROT_NONE in a gather under mmap_read_lock and flushes this mm only (step 1)', () => {
    const r = go(scanned());
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0.slice(t0.indexOf('task_numa_work.mmap_read_lock'), t0.indexOf('task_numa_work.mmap_read_unlock') + 1)).toEqual([
      'task_numa_work.mmap_read_lock', 'tlb_gather_mmu.inc_tlb_flush_pending', 'change_pte_range.pte_offset_map_lock', 'change_pte_range.modify_prot',
      'change_pte_range.pte_unmap_unlock', 'flush_tlb_mm_range.inc_mm_tlb_gen', 'flush_tlb_func.check', 'flush_tlb_func.flush_tlb_one_user',
      'flush_tlb_func.catch_up', 'smp_call_function_many_cond.local_irq_restore', 'tlb_finish_mmu.dec_tlb_flush_pending', 'task_numa_work.mmap_read_unlock',
    ]); // one gather: the PROT_NONE VMA at FAR is not accessible and is skipped
    expect(ids(r, 'ipi@cpu1')).toEqual([]); // CPU1 runs P1: not in P0's cpumask
    expect(r.trace.find((e) => e.id === 'change_pte_range.modify_prot')!.locks).toEqual(['mmap_lock:P0', expect.stringMatching(/^ptl:\d+$/)]);
  });

  it('leaves X PROT_NONE until the hinting fault, which restores it under the PTL (step 2)', () => {
    const when = (e: StepEvent) => e.actor === 'T0' && (e.id === 'change_pte_range.modify_prot' || e.id.startsWith('do_numa_page') || e.id === 'task_numa_work.mmap_read_unlock');
    const { r, seen } = observe(scanned(), when, (s, e) => [e.id, pteOf(s, X).protNone]);
    expect(r.verdict).toBe('pass'); // read-value: the hinting fault is invisible to the ideal memory
    expect(seen).toEqual([
      ['change_pte_range.modify_prot', true],
      ['task_numa_work.mmap_read_unlock', true],
      ['do_numa_page.pte_offset_map_lock', true],
      ['do_numa_page.set_pte', false], // pte_modify(vma->vm_page_prot)
      ['do_numa_page.pte_unmap_unlock', false],
    ]);
    expectOrder(r, ['T0', 'task_numa_work.mmap_read_unlock'], ['T0', 'do_numa_page.pte_offset_map_lock'], ['T0', 'do_numa_page.set_pte']);
    expect(accesses(r, 'T0').map((e) => [e.id, e.obs?.kind === 'access' && e.obs.ok])).toEqual([['user_access.walk', true], ['user_access.walk', true]]);
  });

  it('skips a sharer VMA where the design says so (vma_is_mshare, v3) (step 1)', () => {
    const { r, seen } = observe(sharerScan, at('T0', 'task_numa_work.mmap_read_unlock'), (s) => Object.values(s.frames).filter((f) => f.state === 'pagetable' && f.level === 1).flatMap((f) => f.entries!.filter((e) => e?.protNone)).length, policyByName('mshare-v3')!);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([0]);
    expect(ids(r, 'T0').filter((id) => id.startsWith('change_pte_range') || id.startsWith('tlb_gather_mmu'))).toEqual([]);
  });

  it("scans a sharer VMA through the host's tables under the sharer's locks only, which lock-discipline reports (step 1, hazard 14)", () => {
    const scans = applyVariant(policyByName('mshare-v3')!, defineVariant({ name: 'numa-scans-sharer', description: 'task_numa_work scans msharefs VMAs', edit: (v) => v.knobs({ numa: 'allowed' }) }));
    const r = runScenario(sharerScan, { policy: scans, properties: [propertyById('lock-discipline')!] });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', actor: 'T0', stepId: 'change_pte_range.modify_prot' });
    expect(r.violation!.message).toContain('without mmap_lock:M.host');
    expect(r.trace.find((e) => e.id === 'change_pte_range.modify_prot')!.locks).toEqual(['mmap_lock:P0', expect.stringMatching(/^ptl:\d+$/)]);
  });
});
