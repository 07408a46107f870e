import { describe, expect, it } from 'vitest';
import { linux } from '../../policies/linux.js';
import { policyByName } from '../../policies/registry.js';
import { runScenario } from '../../run/runner.js';
import { validateScenario } from '../../run/validate.js';
import { findPte } from '../pagetable.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { PROPERTIES } from '../../../properties/registry.js';
import type { Observation } from '../step.js';
import { scenarioFile as load } from '../../../test/build.js';

const txt = (s: string) => parseScenario(s);
const values = (r: ReturnType<typeof runScenario>, actor: string) =>
  r.trace.filter((e) => e.actor === actor && e.obs?.kind === 'access').map((e) => (e.obs as Extract<Observation, { kind: 'access' }>).value);
const idsOf = (r: ReturnType<typeof runScenario>, actor: string) => r.trace.filter((e) => e.actor === actor).map((e) => e.id);
const at = (r: ReturnType<typeof runScenario>, id: string, actor?: string) => r.trace.findIndex((e) => e.id === id && (actor === undefined || e.actor === actor));

describe('migration of one folio (migrate_pages)', () => {
  it('finds a migration entry mremap moved during remove_migration_ptes() at its new address (the new VMA comes later in rmap order)', () => {
    const r = runScenario(load('migrate-vs-mremap-moved-entry.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const t1 = idsOf(r, 'T1');
    const walk = t1.slice(t1.lastIndexOf('rmap_walk_anon.anon_vma_lock_read'));
    expect(walk.filter((id) => id === 'remove_migration_pte.pte_offset_map_lock')).toHaveLength(2); // X (moved away meanwhile), then Y
    expect(walk.filter((id) => id === 'remove_migration_pte.set_pte_at')).toHaveLength(1);
    expect(idsOf(r, 'T0')).toContain('migration_entry_wait.woken');
    expect(values(r, 'T0')).toEqual([1, 1]); // the write of X; the read of Y waited on the entry and reads it in the new page
  });

  it('lets another CPU read the old frame through its TLB in the batched-flush window, and frees it only after the flush', () => {
    const r = runScenario(load('migrate-batched-flush-window.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.migrate_deferred_flush).toBe(1);
    expect(r.coverage.migrate_batched_flush_window).toBeGreaterThanOrEqual(1);
    expect(r.coverage.migrate_folio_freed).toBe(1);
    const ids = idsOf(r, 'T0');
    // mainline's order: migration entry, batched flush, copy, new PTE, unlock, free
    const order = ['try_to_migrate_one.set_tlb_ubc_flush_pending', 'try_to_migrate_one.set_pte_at', 'try_to_unmap_flush.done', 'move_to_new_folio', 'remove_migration_pte.set_pte_at', 'migrate_folio_move.folio_unlock', 'migrate_folio_done'];
    expect(order.map((id) => ids.indexOf(id))).toEqual([...order.map((id) => ids.indexOf(id))].sort((a, b) => a - b));
    expect(order.every((id) => ids.includes(id))).toBe(true);
    // the stale hit came while the PTE was a migration entry, before the flush
    const hit = r.trace.findIndex((e) => e.actor === 'T1' && e.id === 'user_access.tlb_hit');
    expect(hit).toBeGreaterThan(at(r, 'try_to_migrate_one.set_pte_at'));
    expect(hit).toBeLessThan(at(r, 'try_to_unmap_flush.done'));
    expect(values(r, 'T1')).toEqual([1, 1, 1]);
    expect(values(r, 'T0')).toEqual([1, 1]);
    // the page now lives in another frame, with the value
    const pte = findPte(r.state, r.state.mms.P0!, 0x10)!.pte!;
    expect(pte.migration).toBeUndefined();
    expect(r.state.frames[pte.pfn]!.content).toBe(1);
  });

  it('makes a fault on a migration entry wait until remove_migration_ptes and folio_unlock, then retry on the new frame', () => {
    const r = runScenario(load('migrate-entry-wait.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.migration_entry_waited).toBe(1);
    const woken = at(r, 'migration_entry_wait.woken', 'T1');
    expect(at(r, 'migration_entry_wait.pte_unmap_unlock', 'T1')).toBeLessThan(at(r, 'remove_migration_pte.set_pte_at'));
    expect(woken).toBeGreaterThan(at(r, 'migrate_folio_move.folio_unlock'));
    // T1 was scheduled while it waited and took no step
    expect(r.trace.slice(at(r, 'migration_entry_wait.pte_unmap_unlock', 'T1') + 1, woken).every((e) => e.actor !== 'T1')).toBe(true);
    expect(values(r, 'T1')).toEqual([1, 2]);
    expect(values(r, 'T0')).toEqual([1, 2]); // T1's retried write went to the new frame
  });

  it('undoes the migration of a pinned page (remove_migration_ptes(src, src)), then migrates it synchronously with ptep_clear_flush', () => {
    const r = runScenario(load('migrate-pinned-page-undone.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.migrate_undone).toBe(1);
    expect(r.coverage.migrate_folio_freed).toBe(1);
    const ids = idsOf(r, 'T0');
    const busy = ids.indexOf('move_to_new_folio.ref_count_busy');
    expect(busy).toBeGreaterThan(ids.indexOf('try_to_unmap_flush.done'));
    expect(ids.indexOf('migrate_folio_undo_src')).toBeGreaterThan(busy);
    // the synchronous pass flushes in try_to_migrate_one (flush_tlb_page), not through the batch
    const sync = ids.slice(ids.indexOf('migrate_folio_undo_src'));
    expect(sync).toContain('native_flush_tlb_multi.send');
    expect(sync).not.toContain('try_to_migrate_one.set_tlb_ubc_flush_pending');
    expect(sync.indexOf('native_flush_tlb_multi.wait')).toBeLessThan(sync.indexOf('try_to_migrate_one.set_pte_at'));
    expect(values(r, 'T0')).toEqual([1, 1]);
  });

  it('moves a page-cache folio: the cache slot, and every process mapping it, get the new frame', () => {
    const r = runScenario(
      txt(`config cpus=2
process P0
process P1
file F pages=1
mmap P0 0x10000 pages=1 prot=rw file=F
mmap P1 0x20000 pages=1 prot=rw file=F
thread T0 P0 cpu=0
  write 0x10000
  migrate 0x10000
  read 0x10000
thread T1 P1 cpu=1
  read 0x20000
  read 0x20000
schedule
  T0 until=user_access.walk
  T1 until=user_access.walk
  T0
  T1
`),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.trace.filter((e) => e.id === 'remove_migration_pte.set_pte_at')).toHaveLength(2);
    expect(idsOf(r, 'T0')).toContain('rmap_walk_file.i_mmap_lock_read');
    const cached = r.state.files.F!.cache[0]!;
    expect(findPte(r.state, r.state.mms.P0!, 0x10)!.pte!.pfn).toBe(cached);
    expect(findPte(r.state, r.state.mms.P1!, 0x20)!.pte!.pfn).toBe(cached);
    expect(r.state.frames[cached]!.refcount).toBe(3); // the page cache and two mappings
    expect(values(r, 'T1')).toEqual([1, 1]);
  });

  it('flushes a PROT_NONE PTE the NUMA scan has not flushed yet (pte_accessible, 20841405940e)', () => {
    const r = runScenario(load('migrate-vs-numa-20841405940e.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.migrate_deferred_flush).toBe(1);
    // the NUMA scan's own flush comes after the migration's
    expect(at(r, 'try_to_unmap_flush.done', 'T2')).toBeLessThan(at(r, 'tlb_finish_mmu.dec_tlb_flush_pending', 'T0'));
    expect(values(r, 'T2')).toEqual([2]);
  });

  it('makes a writable migration entry readable under mprotect and at fork', () => {
    const m = runScenario(load('migrate-vs-mprotect.txt'), { policy: linux, properties: PROPERTIES });
    expect(m.violation).toBeNull();
    expect(m.coverage.migration_entry_changed).toBe(1);
    expect(idsOf(m, 'T1')).toContain('user_access.sigsegv');
    const f = runScenario(load('migrate-vs-fork.txt'), { policy: linux, properties: PROPERTIES });
    expect(f.violation).toBeNull();
    expect(f.coverage.migration_entry_changed).toBe(1);
    expect(f.trace.filter((e) => e.id === 'remove_migration_pte.set_pte_at')).toHaveLength(2); // parent and child
    expect(values(f, 'T1')).toEqual([1]);
    expect(values(f, 'T2')).toEqual([2]);
  });

  it('lets munmap zap a migration entry; the new frame, mapped nowhere, is freed with the old', () => {
    const r = runScenario(
      txt(`config cpus=2
process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  migrate 0x10000
thread T1 P0 cpu=1
  munmap 0x10000 pages=1
schedule
  T0 until=try_to_migrate_one.pte_unmap_unlock
  T1
  T0
`),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.coverage.migration_entry_changed).toBe(1);
    expect(r.trace.some((e) => e.id === 'remove_migration_pte.set_pte_at')).toBe(false);
    expect(r.trace.some((e) => e.id === 'migrate_folio_done')).toBe(true);
    expect(r.state.frames.filter((f) => f.state === 'data')).toHaveLength(0);
  });

  it("finds the migration entry of a VMA munmap detached but has not zapped (it is still in i_mmap) before freeing the old folio", () => {
    const r = runScenario(load('migrate-vs-munmap-detached.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const detach = at(r, 'vms_gather_munmap_vmas.detach', 'T1');
    expect(detach).toBeGreaterThan(0);
    expect(at(r, 'remove_migration_pte.set_pte_at', 'T0')).toBeGreaterThan(detach);
    expect(at(r, 'remove_migration_pte.set_pte_at', 'T0')).toBeLessThan(at(r, 'migrate_folio_done', 'T0'));
    expect(at(r, 'zap_pte_range.clear', 'T1')).toBeGreaterThan(at(r, 'migrate_folio_done', 'T0'));
  });

  it('replaces the migration entry fork copied into the child during the walk: a parent is visited before its child', () => {
    const r = runScenario(load('migrate-vs-fork-rmap-order.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const copy = at(r, 'copy_nonpresent_pte.migration_entry', 'T6');
    const walks = r.trace.flatMap((e, i) => (e.actor === 'T5' && e.id === 'rmap_walk_anon.anon_vma_lock_read' ? [i] : []));
    expect(copy).toBeGreaterThan(walks.at(-1)!); // during remove_migration_ptes()' walk
    const removed = r.trace.filter((e) => e.actor === 'T5' && e.id === 'remove_migration_pte.set_pte_at');
    expect(removed).toHaveLength(2); // P1's, then C1's
    expect(r.trace.indexOf(removed[1]!)).toBeGreaterThan(copy);
    expect(r.trace.indexOf(removed[1]!)).toBeLessThan(at(r, 'migrate_folio_done', 'T5'));
  });

  it('migrates from a NUMA hinting fault when numa_migrate_check picks a node (migrate_misplaced_folio), and restores the PTE otherwise', () => {
    const sc = load('numa-hinting-migrate.txt');
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    const ids = idsOf(r, 'T0');
    expect(ids.indexOf('migrate_misplaced_folio_prepare')).toBeGreaterThan(ids.indexOf('do_numa_page.pte_offset_map_lock'));
    expect(ids).toContain('migrate_folio_done');
    expect(ids).not.toContain('do_numa_page.set_pte');
    expect(ids).not.toContain('add_folio_for_migration.folio_isolate_lru'); // not move_pages(): the fault isolated the folio itself
    expect(values(r, 'T0')).toEqual([1, 1, 1]);
    const pte = findPte(r.state, r.state.mms.P0!, 0x10)!.pte!;
    expect(pte.protNone).toBe(false); // remove_migration_pte() used vm_page_prot: the hinting is over
    // without the choice: the PTE is restored in place, no migration
    const plain = runScenario({ ...sc, choices: [] }, { policy: linux, properties: PROPERTIES });
    expect(plain.violation).toBeNull();
    expect(idsOf(plain, 'T0')).toContain('do_numa_page.set_pte');
    expect(idsOf(plain, 'T0')).not.toContain('migrate_misplaced_folio_prepare');
  });

  it('does nothing where no present PTE maps a page', () => {
    const r = runScenario(
      txt(`process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  migrate 0x10000
`),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(idsOf(r, 'T0')).toContain('add_folio_for_migration.no_folio');
    expect(idsOf(r, 'T0')).not.toContain('migrate_folio_unmap.get_new_folio');
  });

  it('is accepted under an mshare policy too (through a window: test/mshare_migrate.test.ts)', () => {
    const sc = txt(`process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  migrate 0x10000
`);
    expect(validateScenario(sc, linux)).toBeNull();
    expect(validateScenario(sc, policyByName('mshare-v3')!)).toBeNull();
  });
});
