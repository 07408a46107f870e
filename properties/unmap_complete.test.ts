// unmap-complete fires when munmap, MADV_DONTNEED, a host-side mshare call
// or a detach returns while a usable TLB entry of an affected process
// still holds a translation it removed, at the return, and holds on the
// correct design for the same scenario; what the call did not remove is
// not its business.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { parseScenario } from '../reports/scenario_text.js';
import { anon, file, madvise, munmap, proc, read, run, scenario, scenarioFile as load, shared, thread, until, write } from '../test/build.js';
import { X } from '../test/mutant_cases.js';
import noIpi from '../variants/no-ipi.js';
import { tableAliases, unmapComplete } from './unmap_complete.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [unmapComplete] });
const pol = (name: string) => policyByName(name)!;
const noIpiPolicy = applyVariant(linux, noIpi);

/** T0 writes a shared file page at X and zaps it with `op`; T1 on CPU1 reads it, before (cached) or inside T0's window after the flush (`refill`). */
const fileZap = (op = madvise(X), refill = false) =>
  scenario({
    setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F')],
    threads: [thread('T0', 'P0', 0, write(X), op), thread('T1', 'P0', 1, read(X))],
    schedule: refill ? [until('T0', 'tlb_finish_mmu.dec_tlb_flush_pending'), run('T1'), run('T0')] : [until('T0', 'user_access.walk'), run('T1'), run('T0')],
  });

describe('unmap-complete', () => {
  it('fires when MADV_DONTNEED returns without flushing the other CPU', () => {
    // a shared file page stays in the page cache: only the stale entry is wrong
    expect(check(fileZap(), linux).verdict).toBe('pass');
    expect(check(fileZap(), noIpiPolicy).violation).toEqual({
      property: 'unmap-complete', holder: 'TLB', step: 48, actor: 'T0', stepId: 'sys_madvise.return',
      message: 'madvise of 0x10000+1 in P0 returned while CPU1 PCID slot 0 still maps 0x10000 -> frame 4',
    });
  });

  it('fires when munmap returns without flushing the other CPU', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), read(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T0')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toEqual({
      property: 'unmap-complete', holder: 'TLB', step: 58, actor: 'T0', stepId: 'sys_munmap.return',
      message: 'munmap of 0x10000+1 in P0 returned while CPU1 PCID slot 0 still maps 0x10000 -> frame 4',
    });
  });

  it("fires on a sharer's entry when a host-side mshare_map returns (hazard 1, RFC v3)", () => {
    expect(check(load('hazard7-pud-freed-while-linked'), pol('mshare-v3')).verdict).toBe('pass');
    expect(check(load('hazard7-pud-freed-while-linked'), pol('mshare-rfc-v3')).violation).toEqual({
      property: 'unmap-complete', holder: 'TLB', step: 69, actor: 'T1', stepId: 'sys_mshare_map.return',
      message: 'mshare_map of 0x40000+1 in M.host returned while CPU0 PCID slot 0 (sharer P0) still maps 0x40000 -> frame 6',
    });
  });

  it("fires on a sharer's entry at its own address, away from the host's (hazard 3, a flush to the union of cpumasks)", () => {
    // P0 attached the region at 0x80000, the host keeps it at 0x40000: the
    // entry is matched to the page the host removed through the offset.
    expect(check(load('hazard3-dormant-sharer-slot'), pol('mshare-v3')).verdict).toBe('pass');
    expect(check(load('hazard3-dormant-sharer-slot'), pol('mshare-v3-cpumask-union')).violation).toMatchObject({
      actor: 'T1', stepId: 'sys_mshare_unmap.return',
      message: 'mshare_unmap of 0x40000+1 in M.host returned while CPU0 PCID slot 0 (sharer P0) still maps 0x80000 -> frame 7',
    });
  });

  it('fires when a detach (munmap of the msharefs VMA) keeps the link and the entry (hazard 5, RFC v3)', () => {
    expect(check(load('hazard5-detach-keeps-link'), pol('mshare-v3')).verdict).toBe('pass');
    expect(check(load('hazard5-detach-keeps-link'), pol('mshare-rfc-v3')).violation).toEqual({
      property: 'unmap-complete', holder: 'TLB', step: 55, actor: 'T0', stepId: 'sys_munmap.return',
      message: 'munmap of 0x40000+64 in P0 returned while CPU0 PCID slot 0 still maps 0x40000 -> frame 5',
    });
  });

  it('holds for a munmap refused with EINVAL (splitting an msharefs VMA): it removed nothing', () => {
    const sc = parseScenario(
      ['config cpus=2', 'process P0', 'msharefs M owner=P0', 'mshare_map M offset=0 pages=1 prot=rw', 'thread T0 P0 cpu=0', '  attach M 0x40000', '  read 0x40000', '  munmap 0x40000 pages=1', ''].join('\n'),
      'split-msharefs-vma',
    );
    const r = check(sc, pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    expect(r.trace.at(-1)).toMatchObject({ id: 'sys_munmap.return', obs: { result: 'EINVAL' } });
    expect(r.state.cpus[0]!.tlb.map((e) => e.vpn)).toEqual([0x40000 >> 12]);
  });

  it('holds when another thread faults the page back in after the flush, inside the window', () => {
    // T1 refaults the same page-cache page after T0's flush and before its
    // return: the entry is new, not one the madvise left behind.
    const r = check(fileZap(madvise(X), true), linux);
    expect(r.verdict).toBe('pass');
    const zapped = r.state.ghost.ops['T0.1']!.zapped;
    expect(r.state.cpus[1]!.tlb).toEqual([expect.objectContaining({ vpn: X >> 12, ghost: zapped[0]!.ghost })]);
  });

  it('fires on a page of a two-page munmap that the other CPU still caches', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), write(X + 0x1000), munmap(X, 2)), thread('T1', 'P0', 1, read(X + 0x1000), read(X))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T0')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toMatchObject({ actor: 'T0', stepId: 'sys_munmap.return', message: expect.stringMatching(/^munmap of 0x10000\+2 in P0 returned while CPU1 PCID slot 0 still maps 0x11000 -> frame \d+$/) });
  });

  it("ignores another process's entry for the same page-cache page", () => {
    // P1 maps file F too; P0's MADV_DONTNEED removes only P0's translation
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), file('F', 1), shared('P0', X, 1, 'F'), shared('P1', X, 1, 'F')],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P1', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb).toEqual([expect.objectContaining({ vpn: X >> 12, ghost: r.state.ghost.ops['T0.1']!.zapped[0]!.ghost })]);
  });

  it('holds a madvise to nothing for a page whose VMA a concurrent munmap detached: that is the munmap\'s to flush', () => {
    // T0's madvise is invoked while X is mapped and cached on CPU1; T1's
    // munmap detaches X and downgrades mmap_lock before its zap and flush;
    // the madvise then finds no VMA (ENOMEM) and returns first.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, madvise(X)), thread('T1', 'P0', 1, write(X), munmap(X))],
      schedule: [until('T1', 'user_access.walk'), until('T0', 'sys_madvise'), until('T1', 'mmap_write_downgrade'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    const ret = r.trace.find((e) => e.id === 'sys_madvise.return')!;
    expect(ret.obs).toMatchObject({ result: 'ENOMEM' });
    expect(r.trace.findIndex((e) => e.id === 'tlb_finish_mmu.dec_tlb_flush_pending' && e.actor === 'T1')).toBeGreaterThan(ret.n - 1);
  });

  it('fires on a sharer still linked but gone from i_mmap: the mms come from the page tables (hazard 6, RFC v3)', () => {
    // P0's detach keeps its PGD entry on the host's PUD table (RFC v3); a
    // speculative walk refills P0's TLB through it; the host-side replace
    // flushes the host cpumask only. i_mmap no longer names P0; P0's
    // tables still reach the range, and no longer map the page.
    const sc = load('linked-sharer-out-of-i-mmap');
    expect(check(sc, pol('mshare-v3')).verdict).toBe('pass');
    const r = check(sc, pol('mshare-rfc-v3'));
    expect(r.violation).toEqual({
      property: 'unmap-complete', holder: 'TLB', step: 88, actor: 'T1', stepId: 'sys_mshare_map.return',
      message: 'mshare_map of 0x40000+1 in M.host returned while CPU0 PCID slot 0 (P0, whose page tables reach the range) still maps 0x40000 -> frame 6',
    });
    expect(r.state.mshare.M!.sharers).toEqual([]); // i_mmap had nobody to name
  });

  it('holds for a detach: the host and the other sharers still map what the detaching sharer removed', () => {
    // P0 and P2 both map the region; P0 detaches (v3 unlinks and flushes
    // P0). P2 reaches the same tables and keeps its entry, which its own
    // tables still give: nothing was removed from P2.
    const sc = parseScenario(
      ['config cpus=2', 'process P0', 'process P1', 'process P2', 'msharefs M owner=P1', 'mshare_map M offset=0 pages=1 prot=rw',
        'thread T2 P2 cpu=1', '  attach M 0x80000', '  read 0x80000', '  idle',
        'thread T0 P0 cpu=0', '  attach M 0x40000', '  read 0x40000', '  munmap 0x40000 pages=64',
        'schedule', '  T2 until=user_access.walk', '  T0', ''].join('\n'),
      'detach-beside-sharer',
    );
    const r = check(sc, pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    expect(r.trace.some((e) => e.id === 'sys_munmap.return')).toBe(true);
    expect(r.state.cpus[1]!.tlb).toEqual([expect.objectContaining({ vpn: 0x80000 >> 12 })]);
  });

  it('takes a table reached from several ordinary mms as shared (hugetlb PMD sharing: one PMD table under two PUD entries)', () => {
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', X + 0x40000, 1)],
      threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P1', 1, write(X + 0x40000))],
    });
    const s = check(sc, linux).state;
    expect(tableAliases(s, 'P0', X >> 12, (X >> 12) + 1)).toEqual([]);
    // link P1's PUD entry for its range to P0's PMD table, as huge_pmd_share() does
    const pud = (mm: string) => s.frames[s.frames[s.mms[mm]!.pgd]!.entries!.find((e) => e)!.pfn]!;
    const i0 = pud('P0').entries!.findIndex((e) => e);
    const i1 = pud('P1').entries!.findIndex((e) => e);
    pud('P1').entries![i1] = { ...pud('P0').entries![i0]! };
    const aliases = tableAliases(s, 'P0', X >> 12, (X >> 12) + 1);
    expect(aliases).toEqual([{ mm: 'P1', start: (X >> 12) - aliases[0]!.toOp, end: (X >> 12) + 1 - aliases[0]!.toOp, toOp: aliases[0]!.toOp }]);
    expect(aliases[0]!.start).toBe((X + 0x40000) >> 12); // P1 sees P0's page at its own address
  });
});

describe('unmap-complete: a call of the mm that holds the entry owns it', () => {
  it("holds when P0's unshare of a hugetlb PMD table returns while P1's own munmap of the page is still flushing", () => {
    const r = check(load('hugetlb-unshare-beside-sharer-munmap'), linux);
    expect(r.verdict).toBe('pass');
    const at = (actor: string, id: string) => r.trace.findIndex((e) => e.actor === actor && e.id === id);
    // the situation the exemption is for: P1's PTE cleared by T3, then P0's munmap (T1) returns, then T3's
    expect(at('T1', 'huge_pmd_unshare.pud_clear')).toBeGreaterThanOrEqual(0);
    expect(at('T3', 'huge_ptep_get_and_clear')).toBeLessThan(at('T1', 'sys_munmap.return'));
    expect(at('T1', 'sys_munmap.return')).toBeLessThan(at('T3', 'sys_munmap.return'));
  });
});
