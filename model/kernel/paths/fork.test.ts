import { describe, expect, it } from 'vitest';
import { linux } from '../../policies/linux.js';
import { applyVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { validateScenario } from '../../run/validate.js';
import { findLeaf } from '../pagetable.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { PROPERTIES } from '../../../properties/registry.js';
import type { Observation } from '../step.js';
import wpPageCopyNoAnonPrepare from '../../../variants/wp-page-copy-no-anon-prepare.js';
import mprotectUpgradeIgnoresCow from '../../../variants/mprotect-upgrade-ignores-cow.js';
import { scenarioFile as load } from '../../../test/build.js';

const txt = (s: string) => parseScenario(s);
const reads = (r: ReturnType<typeof runScenario>, actor: string) =>
  r.trace.filter((e) => e.actor === actor && e.obs?.kind === 'access').map((e) => (e.obs as Extract<Observation, { kind: 'access' }>).value);

const BASIC = `config cpus=2
zero_page
process P0
mmap P0 0x10000 pages=2 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  read 0x11000
  fork C
  write 0x10000
  read 0x10000
thread T1 C cpu=1
  read 0x10000
  write 0x10000
  read 0x10000
  read 0x11000
`;

describe('fork (dup_mmap, copy_page_range)', () => {
  it('gives the child what the parent held at the fork, and keeps later writes private on both sides', () => {
    const r = runScenario(txt(BASIC), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(reads(r, 'T0')).toEqual([1, 0, 2, 2]); // T0's write after the fork is its own
    expect(reads(r, 'T1')).toEqual([1, 3, 3, 0]); // the child read the pre-fork value, then its own write
    const ids = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    // the parent's PTEs are write-protected before the flush, the flush comes before mmap_write_unlock(oldmm), the child runs after
    expect(ids.indexOf('__copy_present_ptes')).toBeLessThan(ids.indexOf('dup_mmap.mmap_write_unlock_oldmm'));
    expect(ids.indexOf('copy_present_ptes.zero_page')).toBeGreaterThan(0);
    expect(r.trace.findIndex((e) => e.actor === 'T1')).toBeGreaterThan(r.trace.findIndex((e) => e.id === 'wake_up_new_task'));
    // the child has its own mm and context id, so its own PCID
    expect(r.state.mms.C!.ctxId).not.toBe(r.state.mms.P0!.ctxId);
    // both COW breaks took a new page: the parent's from the shared page, the child's reused it (exclusive again)
    expect(r.trace.filter((e) => e.id === 'wp_page_copy.set_pte_at')).toHaveLength(1);
    expect(r.trace.filter((e) => e.actor === 'T1' && e.id === 'wp_page_reuse')).toHaveLength(1);
  });

  it('holds with a stale writable entry of the parent until flush_tlb_mm (fork-stale-writable-parent.txt)', () => {
    const r = runScenario(load('fork-stale-writable-parent.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.fork_wrprotect_with_writable_tlb).toBe(1);
    expect(reads(r, 'T2')).toEqual([2]); // T1's write before the fork, not its write after it
  });

  it('lets a thread of the parent write through its stale writable entry while the fork is open: the child may see it', () => {
    // fork-stale-writable-parent's threads, but T1's second write comes before CPU1 handles fork's flush IPI:
    // allowed, the fork has not returned and the reference linearizes it after the write (no new staleness rule)
    const r = runScenario(load('fork-stale-write-in-window.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.fork_stale_write_in_window).toBe(1);
    expect(reads(r, 'T2')).toEqual([3]);
  });

  it('copies a GUP-pinned page at once and leaves the parent writable (page_needs_cow_for_dma, 70e806e4e645)', () => {
    const sc = load('fork-pinned-page-copied.txt');
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.fork_pinned_page_copied).toBe(1);
    expect(r.trace.some((e) => e.id === '__copy_present_ptes')).toBe(false);
    // the parent's write after the fork needed no COW: its PTE stayed writable, on the pinned page
    expect(r.trace.some((e) => e.actor === 'T0' && e.id.startsWith('wp_page_copy'))).toBe(false);
    expect(reads(r, 'T2')).toEqual([1]);
    const p = findLeaf(r.state, r.state.mms.P0!, 16)!.pte;
    const c = findLeaf(r.state, r.state.mms.C!, 16)!.pte;
    expect(p.pfn).not.toBe(c.pfn);
  });

  it('copies the page a per-VMA-locked fault prepared while an unrelated munmap held the mmap_lock (fork-after-vma-locked-fault-beside-munmap.txt)', () => {
    // a false read-value of model 0.10.1: its VMA split replaced every VMA by a copy, so the fault's
    // __anon_vma_prepare() marked a detached one and dup_mmap() skipped copy_page_range()
    const r = runScenario(load('fork-after-vma-locked-fault-beside-munmap'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.trace.some((e) => e.actor === 'T4' && e.id === 'lock_vma_under_rcu')).toBe(true); // the per-VMA attempt ...
    expect(r.trace.findIndex((e) => e.actor === 'T1' && e.id.startsWith('do_vmi_munmap'))).toBeLessThan(r.trace.findIndex((e) => e.actor === 'T4' && e.id === '__anon_vma_prepare')); // ... outlived the munmap
    expect(r.trace.some((e) => e.actor === 'T4' && e.id.startsWith('copy_pte_range'))).toBe(true);
    expect(reads(r, 'T5')).toEqual([1]);
  });

  it('ends a child thread whose fork never ran (the parent exited first)', () => {
    const sc = txt(`process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  exit
  fork C
thread T1 C cpu=1
  read 0x10000
`);
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.trace.filter((e) => e.actor === 'T1').map((e) => e.id)).toEqual(['copy_process.never_forked']);
  });

  it('refuses a fork of a declared process, a second fork of one child and a fork by a child', () => {
    const base = 'process P0\nthread T0 P0 cpu=0\n';
    expect(validateScenario(txt(`${base}  fork C\nthread T1 C cpu=0\n  fork D\n`))?.problem).toBe("fork by thread 'T1' of process 'C', which setup does not declare (a forked child does not fork again)");
    expect(() => txt(`${base}  fork P0\n`)).toThrow(/fork of 'P0': a process of that name is already declared or forked/);
    expect(() => txt(`${base}  fork C\n  fork C\n`)).toThrow(/fork of 'C'/);
  });
});

describe('COW (do_wp_page, wp_page_copy) and the zero page', () => {
  it('flushes the old PTE before the new one is set, and puts the old page after (cow-flush-before-set-pte.txt)', () => {
    const r = runScenario(load('cow-flush-before-set-pte.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.cow_break_with_old_page_in_tlb).toBe(1);
    const ids = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    const clear = ids.indexOf('wp_page_copy.ptep_get_and_clear');
    const flushed = ids.indexOf('flush_tlb_mm_range.inc_mm_tlb_gen', clear);
    expect(clear).toBeGreaterThan(0);
    expect(flushed).toBeGreaterThan(clear);
    expect(ids.indexOf('wp_page_copy.set_pte_at')).toBeGreaterThan(flushed);
    expect(ids.indexOf('wp_page_copy.folio_put')).toBeGreaterThan(ids.indexOf('wp_page_copy.set_pte_at'));
    expect(reads(r, 'T1')).toEqual([1, 2]); // the old page before the COW, the new page's write after it
    expect(reads(r, 'T2')).toEqual([1]);
  });

  it('maps the zero page read-only on a read fault, COWs from it on a write, and never frees it', () => {
    const sc = txt(`zero_page
process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  read 0x10000
  write 0x10000
  read 0x10000
  munmap 0x10000 pages=1
`);
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(reads(r, 'T0')).toEqual([0, 1, 1]);
    expect(r.coverage.zero_page_cow).toBe(1);
    const z = r.state.frames[r.state.zeroPfn!]!;
    expect(z.state).toBe('data');
    expect(z.refcount).toBe(1);
    expect(z.mapcount).toBe(0);
  });

  it('gives a zero-page-only VMA its anon_vma at the COW, so a later fork copies it (zero-page-cow-before-fork.txt)', () => {
    const sc = load('zero-page-cow-before-fork.txt');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.violation).toBeNull();
    expect(reads(good, 'T3')).toEqual([1]);
    const bad = runScenario(sc, { policy: applyVariant(linux, wpPageCopyNoAnonPrepare), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T3', stepId: 'user_access.walk' });
  });

  it("upgrades with mprotect only an exclusive page's PTE (can_change_pte_writable; fork-then-mprotect-upgrade.txt)", () => {
    const sc = load('fork-then-mprotect-upgrade.txt');
    const good = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(good.violation).toBeNull();
    expect(good.trace.some((e) => e.actor === 'T3' && e.id === 'wp_page_copy.set_pte_at')).toBe(true);
    const bad = runScenario(sc, { policy: applyVariant(linux, mprotectUpgradeIgnoresCow), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T4', stepId: 'user_access.walk' });
  });
});
