// The page tables' reach (reach.ts), carried from step to step: most
// steps (a lock, a flush, an IPI, a TLB fill) change no page-table entry
// and no frame, and then the tables and links of the step before still
// hold. A step's state is compared with the state the cached reach was
// computed from, flattened into numbers (tablesKey): every frame's state,
// allocation and level, every entry's frame and allocation, and the mms
// with their PGDs, which is all reachedTables() reads. Equal: the cached
// objects are returned again, the very same objects, so a property can
// tell "nothing changed since my last look" by identity (mem.x === now).
// Different: recomputed from scratch. fullReach is the reference: a new
// computation every time, never the same objects; test/incremental.test.ts
// runs both after every step of seeded runs and compares the verdicts.

import type { KernelState } from '../model/kernel/state.js';
import { type Link, linksOf, type ReachedTable, reachedTables } from './reach.js';

/** The reach of one step's state. `links` is computed on first use. */
export interface ReachView {
  tables: Map<number, ReachedTable>;
  links(): Map<string, Link>;
}

/** How a property gets the reach of the state it checks. */
export type Reach = (ctx: { s: KernelState; stepCache: Map<unknown, unknown> }) => ReachView;

/** Flattens into `out` what reachedTables() (and a copy of a table's entries) reads of `s`; returns the length. */
export type TablesKey = (s: KernelState, out: number[]) => number;

const STATE_CODE = { free: 0, data: 1, pagetable: 2 } as const;

export const tablesKey: TablesKey = (s, out) => {
  let n = 0;
  const frames = s.frames;
  out[n++] = frames.length;
  for (let p = 0; p < frames.length; p++) {
    const f = frames[p]!;
    out[n++] = STATE_CODE[f.state];
    out[n++] = f.allocId;
    out[n++] = f.level;
    const es = f.entries;
    if (f.state !== 'pagetable' || !es) {
      out[n++] = -1;
      continue;
    }
    out[n++] = es.length;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      out[n++] = e ? e.pfn : -1;
      out[n++] = e ? e.ghost : -1;
    }
  }
  for (const id in s.mms) out[n++] = s.mms[id]!.pgd;
  return n;
};

function view(s: KernelState): ReachView {
  const tables = reachedTables(s);
  let links: Map<string, Link> | null = null;
  return { tables, links: () => (links ??= linksOf(s, tables)) };
}

/** The reference: computed from the whole state at every call. */
export const fullReach: Reach = ({ s }) => view(s);

interface Cached {
  key: number[];
  len: number;
  mms: string[];
  view: ReachView;
}

/** An incremental Reach over `keyOf` (tests pass a broken one, to see the comparison fail). */
export function incrementalReach(keyOf: TablesKey = tablesKey): Reach {
  const byState = new WeakMap<KernelState, Cached>();
  let scratch: number[] = [];
  const reach: Reach = (ctx) => {
    const hit = ctx.stepCache.get(reach) as ReachView | undefined;
    if (hit) return hit;
    const s = ctx.s;
    const len = keyOf(s, scratch);
    const c = byState.get(s);
    if (c && c.len === len && sameMms(s, c.mms) && samePrefix(c.key, scratch, len)) {
      ctx.stepCache.set(reach, c.view);
      return c.view;
    }
    const v = view(s);
    // the key becomes the cached one; the old cached array is reused as the next scratch
    const old = c?.key ?? [];
    byState.set(s, { key: scratch, len, mms: Object.keys(s.mms), view: v });
    scratch = old;
    ctx.stepCache.set(reach, v);
    return v;
  };
  return reach;
}

function samePrefix(a: number[], b: number[], len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameMms(s: KernelState, ids: string[]): boolean {
  let i = 0;
  for (const id in s.mms) if (ids[i++] !== id) return false;
  return i === ids.length;
}

/** The reach every property of the registry uses. */
export const reachAt: Reach = incrementalReach();
