// The ordering contract of mshare_2026.ts, one test per part of its header:
// create and ftruncate, attach (and when the sharer joins the list), the
// host-side calls and the list walk they reach, detach (when the sharer
// leaves), and the owner's teardown by close or exit. The list hazards
// themselves are in test/mshare_2026.test.ts.

import { describe, expect, it } from 'vitest';
import { ids, observe, pos } from '../../../test/trace.js';
import type { RunResult } from '../../run/runner.js';
import type { StepEvent } from '../../../properties/property.js';
import type { MshareKnobs } from '../mshare/knobs.js';
import type { Policy } from '../../policies/policy.js';
import { policyByName } from '../../policies/registry.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import type { KernelState } from '../state.js';
import { tableIndex } from '../pagetable.js';
import { PROPERTIES } from '../../../properties/registry.js';

const m2026 = policyByName('mshare-2026')!;
const knobbed = (knobs: Partial<MshareKnobs>): Policy => applyVariant(m2026, defineVariant({ name: 'knobs', description: 'a list knob', edit: (v) => v.knobs(knobs) }));
const sc = (text: string) => parseScenario(`config cpus=2\nprocess P0\nprocess P1\n${text}`, 'm2026.scn');
const run = (text: string, policy: Policy = m2026) => runScenario(sc(text), { policy, properties: PROPERTIES });
const list = (s: KernelState, f = 'M') => (s.mshare[f]?.list ?? []).map((x) => x.mm);
/** Each pair: both steps of `actor` happen, the first before the second. */
const before = (r: RunResult, actor: string, ...pairs: [string, string][]) => {
  for (const [a, b] of pairs) {
    expect(pos(r, actor, a), `${actor} ${a}`).toBeGreaterThan(0);
    expect(pos(r, actor, b), `${actor} ${b}`).toBeGreaterThan(pos(r, actor, a));
  }
};
const linked = (s: KernelState, mm: string, at: number) => s.frames[s.mms[mm]!.pgd]!.entries![tableIndex(s.config, at >> 12, 4)] !== null;

describe('mshare_2026.ts: mshare_create and ftruncate', () => {
  it('creates a region owned by the caller, unsized; ftruncate sizes it once; attach waits for the size', () => {
    const r = run(`thread T0 P0 cpu=0
  mshare_attach N 0x80000 offset=0 pages=64
  mshare_create N
  mshare_attach N 0x80000 offset=0 pages=64
  ftruncate N pages=64
  ftruncate N pages=64
  mshare_attach N 0x80000 offset=0 pages=64
`);
    expect(r.verdict).toBe('pass');
    // EBADF before the create, EINVAL before the size and on a second ftruncate; then the attach goes through
    expect(ids(r, 'T0').filter((x) => x.startsWith('sys_') || x === 'mshare_create' || x.startsWith('do_ftruncate'))).toEqual([
      'sys_mshare_attach.einval', 'mshare_create', 'sys_mshare_attach.einval', 'do_ftruncate.mshare_setattr', 'sys_ftruncate.einval', 'sys_mshare_attach', 'sys_mshare_attach.return',
    ]);
    const { seen } = observe(sc(`thread T0 P0 cpu=0\n  mshare_create N\n  ftruncate N pages=64\n`), (e) => e.id === 'mshare_create' || e.id === 'do_ftruncate.mshare_setattr', (s) => ({ owner: s.mshare.N!.owner, size: s.mshare.N!.size, host: s.mms[s.mshare.N!.host]!.cpumask.length }), m2026);
    expect(seen).toEqual([{ owner: 'P0', size: null, host: 0 }, { owner: 'P0', size: 64, host: 0 }]);
  });

  it('refuses a size other than the one top-level entry the model shares, and an attach of part of the region', () => {
    const r = run(`thread T0 P0 cpu=0
  mshare_create N
  ftruncate N pages=32
  ftruncate N pages=64
  mshare_attach N 0x80000 offset=0 pages=32
  mshare_attach N 0x80000 offset=1 pages=63
  mshare_attach N 0x81000 offset=0 pages=64
`);
    expect(ids(r, 'T0').filter((x) => x.endsWith('.einval'))).toEqual(['sys_ftruncate.einval', 'sys_mshare_attach.einval', 'sys_mshare_attach.einval', 'sys_mshare_attach.einval']);
  });

  it('is refused under the msharefs designs, whose attach is in turn refused under mshare-2026', () => {
    const text = `msharefs M owner=P0\nthread T0 P0 cpu=0\n  mshare_create N\n  mshare_attach M 0x80000 offset=0 pages=64\n  attach M 0x80000\n`;
    expect(ids(run(text, policyByName('mshare-v3')!), 'T0').filter((x) => x.startsWith('sys_'))).toEqual(['sys_mshare_create.einval', 'sys_mshare_attach.einval', 'sys_attach', 'sys_attach.return']);
    expect(ids(run(text), 'T0').filter((x) => x.startsWith('sys_') || x === 'mshare_create')).toEqual(['mshare_create', 'sys_mshare_attach', 'sys_mshare_attach.return', 'sys_attach.einval']);
  });
});

describe('mshare_2026.ts: mshare_attach and the sharer list', () => {
  const attachRead = 'msharefs M owner=P0\nmshare_map M offset=0 pages=1 prot=rw\nthread T1 P1 cpu=1\n  mshare_attach M 0x80000 offset=0 pages=64\n  read 0x80000\n';
  const when = (e: StepEvent) => e.actor === 'T1' && ['mshare_attach.window_vma', 'mshare_sharer_add.list_add', 'find_shared_vma.set_p4d', 'sys_mshare_attach.return'].includes(e.id);
  const take = (s: KernelState, e: StepEvent) => ({ id: e.id, list: list(s), linked: linked(s, 'P1', 0x80000), iMmap: s.mshare.M!.sharers.map((x) => x.mm) });

  it('at-attach (the policy): window VMA, i_mmap, then the list, all under mmap_write_lock and before any link', () => {
    const { r, seen } = observe(sc(attachRead), when, take, m2026);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      { id: 'mshare_attach.window_vma', list: [], linked: false, iMmap: [] },
      { id: 'mshare_sharer_add.list_add', list: ['P1'], linked: false, iMmap: ['P1'] },
      { id: 'sys_mshare_attach.return', list: ['P1'], linked: false, iMmap: ['P1'] },
      { id: 'find_shared_vma.set_p4d', list: ['P1'], linked: true, iMmap: ['P1'] },
    ]);
    before(r, 'T1', ['mshare_attach.mmap_write_lock', 'mshare_sharer_add.spin_lock'], ['mshare_sharer_add.spin_unlock', 'mshare_attach.mmap_write_unlock']);
  });

  it('after-link: the sharer joins only after set_p4d and the PTL release, still under the host mmap_lock', () => {
    const { r, seen } = observe(sc(attachRead), when, take, knobbed({ listJoin: 'after-link' }));
    expect(r.verdict).toBe('pass');
    expect(seen.map((x) => [x.id, x.list])).toEqual([
      ['mshare_attach.window_vma', []],
      ['sys_mshare_attach.return', []],
      ['find_shared_vma.set_p4d', []],
      ['mshare_sharer_add.list_add', ['P1']],
    ]);
    before(r, 'T1', ['find_shared_vma.spin_unlock', 'mshare_sharer_add.list_add'], ['mshare_sharer_add.spin_unlock', 'find_shared_vma.mmap_read_unlock']);
  });

  it('fails over an existing mapping with EEXIST and joins neither i_mmap nor the list', () => {
    const r = run('msharefs M owner=P0\nmmap P1 0x80000 pages=1 prot=rw\nthread T1 P1 cpu=1\n  mshare_attach M 0x80000 offset=0 pages=64\n');
    expect(r.verdict).toBe('pass');
    expect(r.trace.find((e) => e.obs?.kind === 'return')?.obs).toMatchObject({ result: 'EEXIST' });
    expect(ids(r, 'T1')).not.toContain('mshare_sharer_add.list_add');
  });
});

describe('mshare_2026.ts: the host-side calls and the list walk', () => {
  const twoSharers = (hostOp: string) => `msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  mshare_attach M 0x40000 offset=0 pages=64
  read 0x40000
  ${hostOp}
thread T1 P1 cpu=1
  mshare_attach M 0x80000 offset=0 pages=64
  read 0x80000
schedule
  T1 until=user_access.walk
  T0
`;

  it('mshare_advise zaps in the host with the host gather, then flushes each listed sharer with its own flush_tlb_mm_range, under the list spinlock', () => {
    const r = run(twoSharers('mshare_advise M offset=0 pages=1'));
    expect(r.verdict).toBe('pass');
    const t = ids(r, 'T0');
    const walk = t.slice(t.indexOf('mshare_flush_sharers.spin_lock'), t.indexOf('mshare_flush_sharers.spin_unlock') + 1);
    expect(walk.filter((x) => x === 'mshare_flush_sharers.next')).toHaveLength(2);
    expect(walk.filter((x) => x === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toHaveLength(2); // one tlb_gen per sharer
    before(r, 'T0', ['zap_pte_range.clear', 'mshare_flush_sharers.spin_lock'], ['mshare_flush_sharers.spin_unlock', 'sys_mshare_advise.return']);
    // the list walk runs inside the host's flush, from mmu_notifier_arch_invalidate_secondary_tlbs
    const e = r.trace.find((x) => x.id === 'mshare_flush_sharers.next')!;
    expect(e.locks).toContain('mshare_list_lock:M');
    // P1 on CPU1 was reached by an IPI of its own mm's flush
    expect(ids(r, 'ipi@cpu1')).toContain('flush_tlb_func.flush_tlb_one_user');
  });

  it('mshare_protect changes the host PTE under the host mmap_lock and the walk flushes both sharers', () => {
    const r = run(twoSharers('mshare_protect M offset=0 pages=1 prot=r'));
    expect(r.verdict).toBe('pass');
    before(r, 'T0', ['do_mprotect_pkey.mmap_write_lock', 'change_pte_range.modify_prot'], ['change_pte_range.modify_prot', 'mshare_flush_sharers.spin_lock']);
    expect(ids(r, 'T0').filter((x) => x === 'mshare_flush_sharers.next')).toHaveLength(2);
  });

  it('mshare_map over a mapped range replaces it (MAP_FIXED) and the old page goes only after the walk', () => {
    const r = run(twoSharers('mshare_map M offset=0 pages=1 prot=rw'));
    expect(r.verdict).toBe('pass');
    before(r, 'T0', ['mshare_map.mmap_write_lock', 'mshare_flush_sharers.spin_lock'], ['mshare_flush_sharers.spin_unlock', 'remove_vma.fput'], ['remove_vma.fput', 'mshare_map.mmap_region']);
  });

  it("the per-sharer flush carries the host gather's freed_tables (a lazy sharer CPU is sent to init_mm); listFreedTables never drops it", () => {
    const lazy = `msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  close M
thread T1 P1 cpu=1
  mshare_attach M 0x80000 offset=0 pages=64
  read 0x80000
  idle
schedule
  T1
  T0
`;
    const toInitMm = (p: Policy) => ids(runScenario(sc(lazy), { policy: p, properties: [] }), 'ipi@cpu1').filter((x) => x === 'flush_tlb_func.switch_to_init_mm').length;
    expect(toInitMm(m2026)).toBe(1);
    expect(toInitMm(knobbed({ listFreedTables: 'never' }))).toBe(0);
  });
});

describe('mshare_2026.ts: detach and when the sharer leaves the list', () => {
  const detach = 'msharefs M owner=P0\nmshare_map M offset=0 pages=1 prot=rw\nthread T1 P1 cpu=1\n  mshare_attach M 0x80000 offset=0 pages=64\n  read 0x80000\n  munmap 0x80000 pages=64\n';

  it('after-unlink-flush (the policy): the unlink hook clears the entry, tlb_finish_mmu flushes, then remove_vma leaves the list', () => {
    const r = run(detach);
    expect(r.verdict).toBe('pass');
    before(r, 'T1', ['mshare_vm_op_unshare_page_range.p4d_clear', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['tlb_finish_mmu.dec_tlb_flush_pending', 'mshare_sharer_del.list_del']);
    expect(r.coverage.sharer_left_with_live_tlb).toBe(0);
  });

  it('at-unlink: the sharer leaves in the unlink hook, before its gather is flushed', () => {
    const r = run(detach, knobbed({ listLeave: 'at-unlink' }));
    before(r, 'T1', ['mshare_vm_op_unshare_page_range.spin_unlock', 'mshare_sharer_del.list_del'], ['mshare_sharer_del.list_del', 'tlb_finish_mmu.dec_tlb_flush_pending']);
    expect(r.coverage.sharer_left_with_live_tlb).toBeGreaterThan(0);
  });

  it("a sharer's exit leaves the list too (exit_mmap goes through the same unmap)", () => {
    const r = run('msharefs M owner=P0\nmshare_map M offset=0 pages=1 prot=rw\nthread T1 P1 cpu=1\n  mshare_attach M 0x80000 offset=0 pages=64\n  read 0x80000\n  exit\n');
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1')).toContain('mshare_sharer_del.list_del');
  });
});

describe("mshare_2026.ts: the owner's teardown", () => {
  const teardown = (ownerOp: string) => `msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  ${ownerOp}
thread T1 P1 cpu=1
  mshare_attach M 0x80000 offset=0 pages=64
  read 0x80000
  read 0x80000
  mshare_attach M 0xc0000 offset=0 pages=64
schedule
  T1 until=user_access.walk
  T0 until=sys_close.return
  ipi@cpu1
  T0
  T1
`;

  it("close by the owner clears the owner, unmaps the whole region in the host, flushes the sharer, and refuses new attaches", () => {
    const r = run(teardown('close M'));
    expect(r.verdict).toBe('pass');
    before(r, 'T0', ['filp_flush.mshare_clear_owner', 'filp_flush.mshare_mmap_write_lock'], ['filp_flush.mshare_mmap_write_lock', 'mshare_flush_sharers.next'], ['mshare_flush_sharers.next', 'sys_close.return']);
    // the sharer's next access, after close returned, faults and finds nothing: the mappings in other processes are removed
    const reads = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access');
    expect(reads.map((e) => e.obs!.kind === 'access' && e.obs!.ok)).toEqual([true, false]);
    expect(ids(r, 'T1')).toContain('sys_mshare_attach.einval');
  });

  it("close by another process drops only its own fd", () => {
    const r = run(`msharefs M owner=P0
mshare_map M offset=0 pages=1 prot=rw
thread T1 P1 cpu=1
  close M
  mshare_attach M 0x80000 offset=0 pages=64
thread T0 P0 cpu=0
  mshare_attach M 0x40000 offset=0 pages=64
  read 0x40000
schedule
  T1
  T0
`);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1')).toEqual(expect.arrayContaining(['close_fd', 'sys_mshare_attach.einval']));
    expect(ids(r, 'T1')).not.toContain('filp_flush.mshare_clear_owner');
    expect(r.trace.filter((e) => e.actor === 'T0' && e.obs?.kind === 'access').every((e) => e.obs!.kind === 'access' && e.obs!.ok)).toBe(true);
  });

  it("the owner's exit tears down as close does (exit_mshare)", () => {
    const r = run(teardown('exit'));
    expect(r.verdict).toBe('pass');
    before(r, 'T0', ['exit_mshare.clear_owner', 'mshare_flush_sharers.next']);
  });
});
