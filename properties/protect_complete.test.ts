// protect-complete fires when mprotect returns while a usable TLB entry
// for the range grants more than the new protection (write after a
// downgrade to read, read after PROT_NONE), at the return, and holds on
// linux for the same scenario; entries outside the call's reach are not
// its business.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, idle, mprotect, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import { X, zapWhileCached } from '../test/mutant_cases.js';
import noIpi from '../variants/no-ipi.js';
import { pteTableRanges } from '../model/kernel/pagetable.js';
import { defineVariant } from '../model/policies/variant.js';
import { policyByName } from '../model/policies/registry.js';
import { parseScenario } from '../reports/scenario_text.js';
import { protectComplete } from './protect_complete.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [protectComplete] });
const noIpiPolicy = applyVariant(linux, noIpi);

describe('protect-complete', () => {
  it('fires when a writable entry survives mprotect(PROT_READ) (no IPI to the other CPU)', () => {
    const sc = zapWhileCached(mprotect(X, 1, 'r'));
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toEqual({
      property: 'protect-complete', holder: 'TLB', step: 52, actor: 'T0', stepId: 'sys_mprotect.return',
      message: 'mprotect(0x10000, 1, r) in P0 returned while CPU1 PCID slot 0 still grants rw on 0x10000',
    });
  });

  it('fires when a read-only entry survives mprotect(PROT_NONE)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1, 'r')],
      threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, 'none')), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toMatchObject({
      actor: 'T0', stepId: 'sys_mprotect.return', message: 'mprotect(0x10000, 1, none) in P0 returned while CPU1 PCID slot 0 still grants r on 0x10000',
    });
  });

  it('ignores pages another mprotect changed after this one dropped mmap_lock', () => {
    // T1 makes X writable again and writes it between T0's
    // mmap_write_unlock and T0's return: the writable entry is T1's
    // doing and legitimate.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, mprotect(X, 1, 'r')), thread('T1', 'P0', 1, mprotect(X, 1, 'rw'), write(X))],
      schedule: [until('T0', 'do_mprotect_pkey.mmap_write_unlock'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12 && e.writable)).toBe(true);
  });

  it('ignores pages another mprotect made readable again after this PROT_NONE dropped mmap_lock', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1, 'r')],
      threads: [thread('T0', 'P0', 0, mprotect(X, 1, 'none')), thread('T1', 'P0', 1, mprotect(X, 1, 'r'), read(X))],
      schedule: [until('T0', 'do_mprotect_pkey.mmap_write_unlock'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12)).toBe(true);
  });

  it("ignores another process's writable entry at the same address", () => {
    // P1 maps its own page at X on CPU1; P0's mprotect says nothing about it.
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 1, 'r')), thread('T1', 'P1', 1, write(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12 && e.writable)).toBe(true);
  });

  it('asks nothing of entries that grant no more than the new protection (an upgrade, or read-only kept read-only)', () => {
    // pte_needs_flush(): an upgrade or an unchanged protection needs no flush
    const sc = (to: string) =>
      scenario({
        setup: [proc('P0'), anon('P0', X, 1, 'r')],
        threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, to)), thread('T1', 'P0', 1, read(X))],
        schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
      });
    for (const to of ['rw', 'r']) {
      const r = check(sc(to), noIpiPolicy);
      expect(r.verdict, to).toBe('pass');
      expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12), to).toBe(true);
    }
  });

  describe('NUMA hinting (task_numa_work -> change_prot_numa)', () => {
    const numaScan = { kind: 'numa_scan' as const };
    /** change_prot_numa() whose gather forgets the PROT_NONE changes, so tlb_finish_mmu() flushes nothing (pte_needs_flush() false). */
    const numaNoFlush = applyVariant(linux, defineVariant({
      name: 'numa-no-flush',
      description: 'change_prot_numa makes PTEs PROT_NONE and skips their flush',
      edit: (v) => v.replace('change_prot_numa', function* (k, c: { mm: string }) {
        for (const vma of [...k.s.mms[c.mm]!.vmas]) {
          if (vma.kind === 'mshare' || !vma.prot.r) continue;
          yield* k.run('tlb_gather_mmu', { mm: c.mm });
          for (const [addr, end] of pteTableRanges(k.s.config, vma.start, vma.end)) yield* k.run('change_pte_range', { mm: c.mm, addr, end, prot: vma.prot, numa: true });
          k.s.tasks[k.self]!.gather!.clearedPtes = false;
          yield* k.run('tlb_finish_mmu', {});
        }
      }),
    }));
    /** T1 (CPU1) writes X, then T0 (CPU0) scans P0. */
    const scan = () => scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, numaScan), thread('T1', 'P0', 1, write(X), idle)],
      schedule: [until('T1', 'user_access.walk'), run('T0')],
    });

    it('fires when the scan drops mmap_lock while another CPU keeps a writable entry over the PROT_NONE PTE (the flush skipped)', () => {
      expect(check(scan(), linux).verdict).toBe('pass');
      expect(check(scan(), numaNoFlush).violation).toEqual({
        property: 'protect-complete', holder: 'TLB', step: expect.any(Number), actor: 'T0', stepId: 'task_numa_work.mmap_read_unlock',
        message: 'task_numa_work in P0 dropped mmap_lock after making 0x10000 PROT_NONE while CPU1 PCID slot 0 (P0) still grants rw on 0x10000',
      });
      expect(check(scan(), noIpiPolicy).violation).toMatchObject({ stepId: 'task_numa_work.mmap_read_unlock', message: expect.stringContaining('CPU1 PCID slot 0 (P0) still grants rw') });
    });

    it('holds inside the scan: the entry is stale from the PROT_NONE change until the flush', () => {
      const r = runScenario({ ...scan(), schedule: [until('T1', 'user_access.walk'), until('T0', 'change_pte_range.modify_prot')] }, { policy: numaNoFlush, properties: [protectComplete] });
      expect(r.violation?.stepId).toBe('task_numa_work.mmap_read_unlock'); // not at modify_prot
    });

    it('holds for a page the hinting fault restored and refilled before the scan dropped mmap_lock', () => {
      // after T0's flush T1 writes X: the hinting fault restores the PTE
      // (do_numa_page) and T1's new entry is not one the scan left behind
      const sc = scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, numaScan), thread('T1', 'P0', 1, write(X), write(X))],
        schedule: [until('T1', 'user_access.walk'), until('T0', 'native_flush_tlb_multi.send'), run('ipi@cpu1'), until('T0', 'tlb_finish_mmu.dec_tlb_flush_pending'), run('T1'), run('T0')],
      });
      const r = check(sc, linux);
      expect(r.verdict).toBe('pass');
      const restored = r.trace.findIndex((e) => e.id === 'do_numa_page.set_pte');
      expect(restored).toBeGreaterThan(-1);
      expect(restored).toBeLessThan(r.trace.findIndex((e) => e.id === 'task_numa_work.mmap_read_unlock'));
      expect(r.state.cpus[1]!.tlb).toEqual([expect.objectContaining({ vpn: X >> 12, writable: true })]);
    });

    it("fires on a sharer whose page tables reach the host PTE another sharer's scan made PROT_NONE (RFC v3 scans msharefs VMAs)", () => {
      // P0's scan changes the host's PTE through the shared table and
      // flushes P0 only; P1 reaches the same PTE and keeps its entry (RFC
      // v3 attaches at the host's address)
      const sc = parseScenario(['config cpus=2', 'process P0', 'process P1', 'process P2', 'msharefs M owner=P2', 'mshare_map M offset=0 pages=1 prot=rw',
        'thread T1 P1 cpu=1', '  attach M 0x40000', '  write 0x40000', '  idle',
        'thread T0 P0 cpu=0', '  attach M 0x40000', '  read 0x40000', '  numa_scan',
        'schedule', '  T1 until=user_access.walk', '  T0', ''].join('\n'), 'sharer-numa');
      expect(runScenario(sc, { policy: policyByName('mshare-rfc-v3')!, properties: [protectComplete] }).violation).toMatchObject({
        actor: 'T0', stepId: 'task_numa_work.mmap_read_unlock',
        message: "task_numa_work in P0 dropped mmap_lock after making 0x40000 PROT_NONE while CPU1 PCID slot 0 (P1, whose page tables reach P0's PTE) still grants rw on 0x40000",
      });
      expect(runScenario(sc, { policy: policyByName('mshare-v3')!, properties: [protectComplete] }).verdict).toBe('pass'); // v3 skips msharefs VMAs
    });
  });
});
