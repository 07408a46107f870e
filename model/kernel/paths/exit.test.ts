// The ordering contract of exit.ts (kernel/exit.c do_exit): for the owner
// of an msharefs region (v3) exit_mshare() unmaps the host's region
// first; exit_mm() leaves every CPU of the process lazy (the caller's and
// each killed sibling's) before exit_mmap() (mmu_notifier_release, then an
// munmap of the whole address space with a fullmm gather) takes the
// process's own mappings; the flush with freed tables sends the lazy CPUs
// to init_mm.

import { describe, expect, it } from 'vitest';
import { anon, munmap, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { expectOrder, go, ids, observe, X } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import { policyByName } from '../../policies/registry.js';
import { linux } from '../../policies/linux.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { PROPERTIES } from '../../../properties/registry.js';

const exit = { kind: 'exit' as const };
const v3 = policyByName('mshare-v3')!;

/** P1 owns region M, which sharer P0 has mapped and faulted in; P1 exits. `owner=` names who owns it. */
const ownerExits = (owner: string) =>
  parseScenario(`config cpus=2
process P0
process P1
msharefs M owner=${owner}
mshare_map M offset=0 pages=1 prot=rw
mmap P1 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x80000
  read 0x80000
thread T1 P1 cpu=1
  write 0x10000
  exit
schedule
  T0
  T1
`, 'exit.scn');

describe('exit.ts: do_exit', () => {
  it('unmaps the whole address space through munmap and takes the sibling threads down with it', () => {
    const r = go(scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), exit, write(X)), thread('T1', 'P0', 1, read(X), read(X), read(X))],
      schedule: [until('T1', 'user_access.walk'), until('T0', 'sys_exit.return'), run('T1')],
    }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'do_group_exit'], ['T0', 'sys_exit'], ['T0', 'do_vmi_munmap.mmap_write_lock'], ['T0', 'zap_pte_range.clear'], ['T0', 'free_pud_range.pgd_clear'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['T0', 'sys_exit.return']);
    expect(ids(r, 'T0').filter((id) => id.startsWith('exit_mshare'))).toEqual([]); // no mshare on linux
    expect(r.state.mms.P0!.vmas).toEqual([]);
    expect(r.state.frames.filter((f) => f.state === 'data')).toEqual([]); // X's page went with the mm
    expect(r.trace.filter((e) => e.obs?.kind === 'access' && e.n > r.trace.find((x) => x.id === 'sys_exit.return')!.n)).toEqual([]); // nobody runs on
    expect(ids(r, 'T0').at(-1)).toBe('sys_exit.return'); // do_exit() does not come back to the last write
  });

  it('tears the mm down only after every thread left it: the siblings and the caller go lazy first, the fullmm flush sends them to init_mm', () => {
    const sc = scenario({
      config: { cpus: 3 },
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [
        thread('T0', 'P0', 0, write(X), exit),
        thread('T1', 'P0', 1, read(X)), // done, in user mode on CPU1 when T0 exits
        thread('T2', 'P0', 2, read(X), read(X), read(X)), // killed between two reads
      ],
      schedule: [run('T1'), until('T2', 'user_access.walk'), run('T0'), run('T2'), run('T1')],
    });
    // the state of every CPU at the first PTE clear of exit_mmap()
    const { r, seen } = observe(sc, (e) => e.actor === 'T0' && e.id === 'zap_pte_range.clear', (s) => s.cpus.map((c) => ({ mm: c.loadedMm, lazy: c.isLazy })));
    expect(r.verdict).toBe('pass');
    // the caller waits for both siblings' exit_mm() before exit_mmap() touches a table
    for (const sib of ['T1', 'T2']) expectOrder(r, ['T0', 'do_group_exit'], [sib, 'exit_mm.enter_lazy_tlb'], ['T0', 'sys_exit'], ['T0', 'exit_mm.enter_lazy_tlb'], ['T0', 'zap_pte_range.clear'], ['T0', 'sys_exit.return']);
    expect(seen[0]).toEqual([{ mm: 'P0', lazy: true }, { mm: 'P0', lazy: true }, { mm: 'P0', lazy: true }]); // nobody runs P0 any more
    expect(ids(r, 'T2').filter((id) => id === 'user_access.tlb_hit' || id === 'user_access.walk')).toHaveLength(1); // no access after the kill
    expect(r.state.cpus.map((c) => c.loadedMm)).toEqual([null, null, null]); // the freed-tables flush sent every lazy CPU to init_mm
    expect(r.state.mms.P0!.tlbFlushPending).toBe(0);
  });

  it('uses a fullmm gather for exit_mmap: the flush covers the whole mm', () => {
    const { r, seen } = observe(scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), exit)],
      schedule: [run('T0')],
    }), (e) => e.actor === 'T0' && e.id === 'tlb_gather_mmu.inc_tlb_flush_pending', (s) => ({ fullmm: s.tasks.T0!.gather!.fullmm, lazy: s.cpus[0]!.isLazy }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ fullmm: true, lazy: true }]); // exit_mm() made CPU0 lazy before the gather
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), munmap(X))], schedule: [run('T0')] });
    const { seen: plain } = observe(sc, (e) => e.id === 'tlb_gather_mmu.inc_tlb_flush_pending', (s) => s.tasks.T0!.gather!.fullmm);
    expect(plain).toEqual([false]); // munmap() does not
  });

  it("runs exit_mshare() first for a region owner: clears the owner, then unmaps the host's region under its mmap_lock (step exit_mshare)", () => {
    const r = runScenario(ownerExits('P1'), { policy: v3, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expectOrder(r,
      ['T1', 'sys_exit'], ['T1', 'exit_mshare.clear_owner'], ['T1', 'exit_mshare.mmap_write_lock'], ['T1', 'zap_pte_range.clear'],
      ['T1', 'flush_tlb_all.send'], ['T1', 'exit_mshare.mmap_write_unlock'], ['T1', 'do_vmi_munmap.mmap_write_lock'], ['T1', 'sys_exit.return']);
    expect(r.state.mshare.M!.owner).toBeNull();
    expect(r.state.mms['M.host']!.vmas).toEqual([]);
  });

  it('zaps the host first and the exiting process second, each in a gather of its own (step exit_mmap)', () => {
    const clears = (e: StepEvent) => e.actor === 'T1' && (e.id === 'zap_pte_range.clear' || e.id === 'exit_mshare.clear_owner');
    const { r, seen } = observe(ownerExits('P1'), clears, (s, e) => ({ id: e.id, gather: s.tasks.T1!.gather?.mm ?? null, owner: s.mshare.M!.owner, hostLock: s.locks['mmap_lock:M.host']?.mode ?? null }), v3);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      { id: 'exit_mshare.clear_owner', gather: null, owner: null, hostLock: null }, // MSHARE_HAS_OWNER cleared before the host lock
      { id: 'zap_pte_range.clear', gather: 'M.host', owner: null, hostLock: 'w' },
      { id: 'zap_pte_range.clear', gather: 'P1', owner: null, hostLock: null },
    ]);
  });

  it('skips exit_mshare() for a process that owns no region, and on designs without owners', () => {
    const notOwner = runScenario(ownerExits('P0'), { policy: v3, properties: PROPERTIES });
    expect(notOwner.verdict).toBe('pass');
    expect(ids(notOwner, 'T1').filter((id) => id.startsWith('exit_mshare'))).toEqual([]);
    expect(notOwner.state.mms['M.host']!.vmas).toHaveLength(1); // the region survives its sharer's exit
    // v2 links the shared table without page_table_lock (a lock-discipline finding of its own, test/fuzz_policies.test.ts)
    const v2 = runScenario(ownerExits('P1'), { policy: policyByName('mshare-v2')!, properties: PROPERTIES.filter((p) => p.id !== 'lock-discipline') });
    expect(v2.verdict).toBe('pass');
    expect(ids(v2, 'T1').filter((id) => id.startsWith('exit_mshare'))).toEqual([]);
    expect(v2.state.mms['M.host']!.vmas).toHaveLength(1);
  });

  it('refuses, as a model error, an exit_mmap() while a thread still runs the mm (a shape Linux cannot reach)', () => {
    // a broken variant whose exit_mm() drops the mm_users reference but leaves the CPU running the mm
    const noLazy = defineVariant({
      name: 'exit-mm-no-lazy',
      description: 'exit_mm marks the thread dead but leaves its CPU on the mm',
      edit: (v) => v.replace('exit_mm', function* (k) {
        k.s.tasks[k.self]!.dead = true;
        yield { id: 'exit_mm.enter_lazy_tlb' };
      }),
    });
    const noExitMm = applyVariant(linux, noLazy);
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), exit), thread('T1', 'P0', 1, read(X))],
      schedule: [run('T1'), run('T0')],
    });
    const r = runScenario(sc, { policy: noExitMm, properties: PROPERTIES });
    expect(r.verdict).toBe('model-error');
    expect(r.error).toMatch(/^exit_mmap\(P0\) while T\d still runs it on CPU\d: Linux runs exit_mmap\(\) only after every thread's exit_mm\(\)$/);
    expect(go(sc).verdict).toBe('pass'); // linux gets there only with T1 lazy
  });
});
