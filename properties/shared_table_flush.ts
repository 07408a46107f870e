import { span } from '../model/kernel/config.js';
import { LEVEL_NAME } from '../model/kernel/pagetable.js';
import type { KernelState, Pte } from '../model/kernel/state.js';
import { pscUsableFor, tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import type { Property } from './property.js';
import { mmsOf, type Reacher } from './reach.js';
import { type Reach, reachAt } from './reach_cache.js';

/** A shared table as the previous step left it. */
interface Snap {
  ghost: number;
  level: number;
  by: Reacher[];
  entries: (Pte | null)[];
}

/** What a change in a shared table owes: the old page (leaf) or table, and the mms that reached it, at their addresses. */
interface Owed {
  pfn: number;
  ghost: number;
  /** 0: a data page; otherwise the level of the table. */
  level: number;
  /** Each mm that reached the changed entry, and the address it saw it at. */
  mms: { mm: string; va: number }[];
  table: number;
  tableLevel: number;
  index: number;
  n: number;
  stepId: string;
}

/** The tables below `pfn` (itself included), as long as they are still the tables the entry was made for. */
function subtree(s: KernelState, pfn: number, ghost: number, base: number, out: { pfn: number; ghost: number; level: number; base: number }[]) {
  const t = s.frames[pfn]!;
  if (t.state !== 'pagetable' || t.allocId !== ghost || !t.entries) return;
  out.push({ pfn, ghost, level: t.level, base });
  if (t.level > 1) t.entries.forEach((e, i) => e && subtree(s, e.pfn, e.ghost, base + i * span(s.config, t.level), out));
}

/**
 * A change inside a table more than one mm reaches (an mshare host's
 * tables under the sharers' PGD entries; a hugetlb PMD table under several
 * PUD entries): an entry cleared or pointed elsewhere. The mms that reach
 * the table come from the page tables, at the step before the change.
 * When the page or table the entry held goes back to the allocator (free,
 * or reallocated), each of those mms must have been flushed of it: no
 * usable TLB entry of the mm maps the old page, no usable PSC entry of the
 * mm caches the old table or a table below it. Checked once, at the step
 * the frame leaves its old allocation; inside the change's window the
 * entries are allowed.
 */
/** The property over `reach` (reach_cache.ts): the registry's is incremental, tests also run it over the full reference. */
export const sharedTableFlushWith = (reach: Reach): Property => ({
  id: 'shared-table-flush',
  statement: 'when an entry of a page table reached from several mms changes, each mm that reached it is flushed of the old page or table before that frame is freed or reused',
  rule: 'a host-side change must reach every mm that maps the shared table (docs/mshare-hazards.md 1, 3, 7); hugetlb PMD unsharing flushes every sharer before the table can be freed (commit 8ce720d5bd91)',
  check({ s, event, mem, stepCache }) {
    const { tables, contents } = reach({ s, stepCache });
    const prev = mem.snap as Map<number, Snap> | undefined;
    const owed = ((mem.owed as Owed[] | undefined) ??= []);
    // The same contents as at the last step: no frame and no entry changed
    // since (reach_cache.ts), so no shared entry did and the snapshot holds.
    if (mem.contents !== contents) {
      mem.contents = contents;
      if (prev) {
        for (const [pfn, t] of prev) {
          const f = s.frames[pfn]!;
          const live = f.state === 'pagetable' && f.allocId === t.ghost;
          t.entries.forEach((old, i) => {
            if (!old) return;
            const cur = live ? f.entries![i] : null;
            if (cur && cur.pfn === old.pfn && cur.ghost === old.ghost) return;
            const mms = t.by.map((r) => ({ mm: r.mm, va: r.base + i * span(s.config, t.level) }));
            const at = { table: pfn, tableLevel: t.level, index: i, n: event.n, stepId: event.id, mms };
            if (t.level === 1) owed.push({ pfn: old.pfn, ghost: old.ghost, level: 0, ...at });
            else {
              const below: { pfn: number; ghost: number; level: number; base: number }[] = [];
              subtree(s, old.pfn, old.ghost, 0, below);
              for (const b of below) owed.push({ pfn: b.pfn, ghost: b.ghost, level: b.level, ...at, mms: mms.map((m) => ({ mm: m.mm, va: m.va + b.base })) });
            }
          });
        }
      }
      const snap = new Map<number, Snap>();
      for (const t of tables.values()) {
        if (mmsOf(t).length < 2) continue;
        snap.set(t.pfn, { ghost: t.ghost, level: t.level, by: t.by, entries: s.frames[t.pfn]!.entries!.map((e) => (e ? { ...e } : null)) });
      }
      mem.snap = snap;
    }
    for (let k = owed.length - 1; k >= 0; k--) {
      const o = owed[k]!;
      const f = s.frames[o.pfn]!;
      if (f.state !== 'free' && f.allocId === o.ghost) continue; // still the page or table the entry held
      owed.splice(k, 1);
      const why = f.state === 'free' ? 'free' : `reallocated as ${f.lp}`;
      const change = `${o.stepId} (step ${o.n}) changed entry ${o.index} of the shared ${LEVEL_NAME[o.tableLevel]} table ${o.table}`;
      for (const { mm, va } of o.mms) {
        for (const cpu of s.cpus) {
          if (o.level === 0) {
            for (const e of cpu.tlb) {
              if (e.pfn !== o.pfn || e.ghost !== o.ghost || tlbUsableFor(s, cpu, e.slot) !== mm) continue;
              return { holder: 'TLB', message: `${change}; frame ${o.pfn} is ${why} while CPU${cpu.id} PCID slot ${e.slot} (${mm}, which reached it at ${vaHex(va)}) still maps ${vaHex(e.vpn)} -> frame ${o.pfn}` };
            }
          } else {
            for (const p of cpu.psc) {
              if (p.pfn !== o.pfn || p.ghost !== o.ghost || pscUsableFor(s, cpu, p.slot) !== mm) continue;
              return { holder: 'PSC', message: `${change}; the ${LEVEL_NAME[o.level]} table at frame ${o.pfn} is ${why} while CPU${cpu.id} PCID slot ${p.slot} (${mm}, which reached it at ${vaHex(va)}) still caches it` };
            }
          }
        }
      }
    }
    return null;
  },
});

export const sharedTableFlush: Property = sharedTableFlushWith(reachAt);
