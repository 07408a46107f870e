// The ordering contract of mshare.ts (research/mshare.md 2.5, 3.4, 3.5,
// 4.4), one test per part of its header: attach, the ioctls, what a
// host-side flush reaches (one design at a time), and detach. exit_mshare
// is in exit.test.ts.

import { describe, expect, it } from 'vitest';
import { accesses, expectOrder, ids, observe } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import { policyByName } from '../../policies/registry.js';
import { runScenario, type RunResult } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import type { KernelState } from '../state.js';
import { tableIndex } from '../pagetable.js';
import { PROPERTIES } from '../../../properties/registry.js';

const pol = (name: string) => policyByName(name)!;
/** Where sharer P0 attaches: anywhere aligned (v2 on), or the host's own address, 0x40000 (RFC v3). */
const ANY = 0x80000;
const SAME = 0x40000;

/** Sharer P0 (CPU0) attaches region M of owner P1 at `at`, then runs `sharerOps`; P1 (CPU1) runs `host` after. */
const region = (sharerOps: string[], host: string[], mapped = true, at = ANY) =>
  parseScenario(`config cpus=2
process P0
process P1
msharefs M owner=P1
${mapped ? 'mshare_map M offset=0 pages=1 prot=rw' : ''}
thread T0 P0 cpu=0
  attach M 0x${at.toString(16)}
${sharerOps.map((o) => `  ${o.replace('@', `0x${at.toString(16)}`)}`).join('\n')}
thread T1 P1 cpu=1
${host.map((o) => `  ${o}`).join('\n')}
schedule
  T0
  T1
`, 'mshare.scn');
const run = (sc: ReturnType<typeof region>, policy: string, properties?: []) => runScenario(sc, { policy: pol(policy), properties: properties ?? PROPERTIES });
const pgdEntry = (s: KernelState, mm: string, at = ANY) => s.frames[s.mms[mm]!.pgd]!.entries![tableIndex(s.config, at >> 12, 4)] ?? null;
const between = (r: RunResult, actor: string, from: string, to: string) => {
  const t = ids(r, actor);
  return t.slice(t.indexOf(from), t.indexOf(to) + 1);
};

describe('mshare.ts: attach (msharefs_mmap)', () => {
  it('inserts the VMA under mmap_write_lock, then links it into i_mmap, and links no table yet', () => {
    const sc = region([], []);
    const when = (e: StepEvent) => e.actor === 'T0' && (e.id === 'msharefs_mmap.vma_link' || e.id === 'vma_link_file.i_mmap_unlock_write' || e.id === 'sys_attach.return');
    const { r, seen } = observe(sc, when, (s, e) => ({ id: e.id, vma: s.mms.P0!.vmas.some((v) => v.kind === 'mshare'), sharers: s.mshare.M!.sharers.map((x) => x.mm), link: pgdEntry(s, 'P0') }), pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    expect(between(r, 'T0', 'sys_attach', 'sys_attach.return')).toEqual(['sys_attach', 'msharefs_mmap.mmap_write_lock', 'msharefs_mmap.vma_link', 'vma_link_file.i_mmap_lock_write', 'vma_link_file.i_mmap_unlock_write', 'msharefs_mmap.mmap_write_unlock', 'sys_attach.return']);
    expect(seen).toEqual([
      { id: 'msharefs_mmap.vma_link', vma: true, sharers: [], link: null },
      { id: 'vma_link_file.i_mmap_unlock_write', vma: true, sharers: ['P0'], link: null },
      { id: 'sys_attach.return', vma: true, sharers: ['P0'], link: null }, // the PGD entry is linked at the first fault
    ]);
  });

  it('fails over an existing mapping with EEXIST and does not join i_mmap', () => {
    const sc = parseScenario('config cpus=2\nprocess P0\nmsharefs M owner=P0\nmmap P0 0x80000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  attach M 0x80000\n', 'eexist.scn');
    const r = runScenario(sc, { policy: pol('mshare-v3'), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(r.trace.find((e) => e.id === 'sys_attach.return')!.obs).toMatchObject({ result: 'EEXIST' });
    expect(ids(r, 'T0').filter((id) => id.startsWith('vma_link_file'))).toEqual([]);
    expect(r.state.mshare.M!.sharers).toEqual([]);
  });
});

describe('mshare.ts: the ioctls run do_munmap / __do_mmap on the host under its mmap_lock', () => {
  it('MSHAREFS_UNMAP zaps in a gather of the host, keeping the write lock, and flushes before the unlock', () => {
    const sc = region(['read @'], ['mshare_unmap M offset=0 pages=1']);
    const zapOrFlush = (e: StepEvent) => e.actor === 'T1' && (e.id === 'zap_pte_range.clear' || e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen');
    const { r, seen } = observe(sc, zapOrFlush, (s) => ({ gather: s.tasks.T1!.gather!.mm, hostLock: s.locks['mmap_lock:M.host']!.mode, hostCpumask: [...s.mms['M.host']!.cpumask] }), pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      { gather: 'M.host', hostLock: 'w', hostCpumask: [] }, // no task runs the host: its own cpumask is empty
      { gather: 'M.host', hostLock: 'w', hostCpumask: [] },
    ]);
    expectOrder(r, ['T1', 'msharefs_unmap.mmap_write_lock'], ['T1', 'vms_gather_munmap_vmas.detach'], ['T1', 'zap_pte_range.clear'], ['T1', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T1', 'tlb_batch_pages_flush'], ['T1', 'msharefs_unmap.mmap_write_unlock'], ['T1', 'sys_mshare_unmap.return']);
    expect(ids(r, 'T1')).not.toContain('mmap_write_downgrade'); // do_munmap() from the ioctl keeps the write lock
    expect(r.state.mms['M.host']!.vmas).toEqual([]);
  });

  it('MSHAREFS_CREATE_MAPPING over a mapping unmaps it first (MAP_FIXED), then inserts the new VMA', () => {
    const r = run(region(['read @'], ['mshare_map M offset=0 pages=1 prot=rw']), 'mshare-v3');
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T1', 'msharefs_create_mapping.mmap_write_lock'], ['T1', 'vms_gather_munmap_vmas.detach'], ['T1', 'zap_pte_range.clear'], ['T1', 'tlb_batch_pages_flush'], ['T1', 'msharefs_create_mapping.mmap_region'], ['T1', 'msharefs_create_mapping.mmap_write_unlock']);
    const empty = run(region([], ['mshare_map M offset=0 pages=1 prot=rw'], false), 'mshare-v3');
    expect(empty.verdict).toBe('pass');
    expect(between(empty, 'T1', 'sys_mshare_map', 'sys_mshare_map.return')).toEqual(['sys_mshare_map', 'msharefs_create_mapping.mmap_write_lock', 'msharefs_create_mapping.mmap_region', 'msharefs_create_mapping.mmap_write_unlock', 'sys_mshare_map.return']);
  });

  it('has no MSHAREFS_UNMAP in RFC v3: the call fails its checks before any step', () => {
    const r = run(region(['read @'], ['mshare_unmap M offset=0 pages=1']), 'mshare-rfc-v3');
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1').filter((id) => id.includes('mshare_unmap') || id.startsWith('msharefs_unmap'))).toEqual(['sys_mshare_unmap.einval']);
  });
});

describe('mshare.ts: what a host-side flush reaches (mshare_invalidate_tlbs)', () => {
  const hostChange = region(['read @'], ['mshare_map M offset=0 pages=1 prot=rw']);
  const hostChangeSame = region(['read @'], ['mshare_map M offset=0 pages=1 prot=rw'], true, SAME);
  const flushSteps = (r: RunResult) => r.trace.filter((e) => (e.actor === 'T1' && (e.id.startsWith('mshare_invalidate_tlbs') || e.id.startsWith('flush_tlb_all') || e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen')) || e.actor === 'ipi@cpu0').map((e) => `${e.actor} ${e.id}`);

  it('reaches no sharer in RFC v3: only the empty host cpumask', () => {
    const r = run(hostChangeSame, 'mshare-rfc-v3', []); // hazard 1: the stale sharer entry is test/mshare.test.ts's to check
    expect(r.trace.find((e) => e.id === 'sys_attach.return')!.obs).toMatchObject({ result: 'ok' }); // P0 is a sharer with X cached
    expect(accesses(r, 'T0').map((e) => e.obs)).toEqual([expect.objectContaining({ ok: true })]);
    expect(flushSteps(r)).toEqual(['T1 flush_tlb_mm_range.inc_mm_tlb_gen']);
  });

  it('flushes every CPU with flush_tlb_all (v3), and waits for the sharer CPU before freeing', () => {
    const r = run(hostChange, 'mshare-v3');
    expect(r.verdict).toBe('pass');
    expect(flushSteps(r)).toEqual(['T1 flush_tlb_mm_range.inc_mm_tlb_gen', 'T1 flush_tlb_all.send', 'ipi@cpu0 do_flush_tlb_all', 'ipi@cpu0 csd_unlock', 'T1 flush_tlb_all.wait']);
    expectOrder(r, ['T1', 'flush_tlb_all.wait'], ['T1', 'tlb_batch_pages_flush']);
  });

  it('flushes each sharer found in i_mmap with its own flush_tlb_mm_range, under i_mmap_rwsem (option b)', () => {
    const { r, seen } = observe(hostChange, (e) => e.actor === 'T1' && e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen', (s) => ({ host: s.mms['M.host']!.tlbGen, sharer: s.mms.P0!.tlbGen }), pol('mshare-v3-per-sharer-flush'));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T1', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T1', 'mshare_invalidate_tlbs.i_mmap_lock_read'], ['ipi@cpu0', 'flush_tlb_func.flush_tlb_one_user'], ['T1', 'mshare_invalidate_tlbs.i_mmap_unlock_read'], ['T1', 'tlb_batch_pages_flush']);
    expect(seen).toHaveLength(2); // the host's flush, then P0's from inside it
    expect(seen[1]!.sharer).toBe(seen[0]!.sharer + 1); // the sharer's tlb_gen is bumped
  });

  it("sends one IPI round to the union of the sharers' cpumasks and bumps no sharer tlb_gen (option c)", () => {
    const { r, seen } = observe(hostChange, (e) => e.actor === 'T1' && e.id === 'tlb_batch_pages_flush', (s) => s.mms.P0!.tlbGen, pol('mshare-v3-cpumask-union'));
    expect(r.verdict).toBe('pass');
    expect(flushSteps(r)).toEqual(['T1 flush_tlb_mm_range.inc_mm_tlb_gen', 'T1 mshare_invalidate_tlbs.flush_tlb_multi', 'ipi@cpu0 flush_tlb_func_mshare', 'ipi@cpu0 csd_unlock', 'T1 mshare_invalidate_tlbs.wait']);
    const before = runScenario(region(['read @'], []), { policy: pol('mshare-v3-cpumask-union'), properties: PROPERTIES }).state.mms.P0!.tlbGen;
    expect(seen).toEqual([before]); // hazard 3: a dormant sharer slot would keep its entries
  });
});

describe('mshare.ts: detach (mshare_vm_op_unshare_page_range, v3)', () => {
  it("clears the sharer's PGD entry under its page_table_lock, dropping pt_share_count, then flushes the sharer without freed_tables", () => {
    const sc = region(['read @', 'munmap @ pages=64'], []);
    const when = (e: StepEvent) => e.actor === 'T0' && (e.id === 'mshare_vm_op_unshare_page_range.spin_lock' || e.id === 'mshare_vm_op_unshare_page_range.p4d_clear' || e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen');
    const shared = (s: KernelState) => s.frames.find((f) => f.state === 'pagetable' && f.owner === 'M.host' && f.level === 3)!.shareCount;
    const { r, seen } = observe(sc, when, (s, e) => ({ id: e.id, link: pgdEntry(s, 'P0') !== null, count: shared(s), freedTables: s.tasks.T0!.gather!.freedTables, locks: e.locks.filter((l) => l.startsWith('page_table_lock')) }), pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      { id: 'mshare_vm_op_unshare_page_range.spin_lock', link: true, count: 1, freedTables: false, locks: ['page_table_lock:P0'] },
      { id: 'mshare_vm_op_unshare_page_range.p4d_clear', link: false, count: 0, freedTables: false, locks: ['page_table_lock:P0'] },
      { id: 'flush_tlb_mm_range.inc_mm_tlb_gen', link: false, count: 0, freedTables: false, locks: [] }, // tlb_flush_p4d_range(): no freed_tables
    ]);
    expect(r.state.mshare.M!.sharers).toEqual([]);
  });

  it('leaves the link in RFC v3, which has no unshare hook (hazard 5)', () => {
    const r = run(region(['read @', 'munmap @ pages=64'], [], true, SAME), 'mshare-rfc-v3', []);
    expect(r.trace.find((e) => e.id === 'sys_munmap.return')!.obs).toMatchObject({ result: 'ok' });
    expect(ids(r, 'T0').filter((id) => id.startsWith('mshare_vm_op_unshare_page_range'))).toEqual([]);
    expect(pgdEntry(r.state, 'P0', SAME)).not.toBeNull();
  });
});
