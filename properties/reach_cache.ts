// The page tables' reach (reach.ts), carried from step to step: most
// steps (a lock, a flush, an IPI, a TLB fill) change no page-table entry
// and no frame, and then the tables and links of the step before still
// hold. A step's state is compared with the state the cached reach was
// computed from, flattened into numbers: first everything in the frames
// (tablesKey: every frame's state, allocation and level, every entry's
// frame and allocation, the mms' PGDs); if that differs, only what
// reachedTables() reads (upperKey: the page-table frames and their upper
// entries; a PTE or a data page changing leaves it equal). Equal keys
// give back the very same objects, so a property can tell "nothing
// changed since my last look" by identity: `contents` is a new object
// whenever anything in the frames changed, `tables` (and its links) only
// when the reach may have. fullReach is the reference: a new computation
// every time, never the same objects; test/incremental.test.ts runs both
// after every step of seeded runs and compares the verdicts.

import type { KernelState } from '../model/kernel/state.js';
import { type Link, linksOf, type ReachedTable, reachedTables } from './reach.js';

/** The reach of one step's state. `links` is computed on first use. */
export interface ReachView {
  tables: Map<number, ReachedTable>;
  links(): Map<string, Link>;
  /** Stands for the frames' contents: the same object only while no frame and no entry changed. */
  contents: object;
}

/** How a property gets the reach of the state it checks. */
export type Reach = (ctx: { s: KernelState; stepCache: Map<unknown, unknown> }) => ReachView;

/** Flattens into `out` what some part of a state holds; returns the length. */
export type TablesKey = (s: KernelState, out: number[]) => number;

const STATE_CODE = { free: 0, data: 1, pagetable: 2 } as const;

/** Everything in the frames the entry scans read: what reachedTables() reads, every PTE (its frame, allocation, huge bit) and data frame. */
export const tablesKey: TablesKey = (s, out) => {
  let n = 0;
  const frames = s.frames;
  out[n++] = frames.length;
  for (let p = 0; p < frames.length; p++) {
    const f = frames[p]!;
    out[n++] = f.state === 'free' ? STATE_CODE.free : f.state === 'data' ? STATE_CODE.data : STATE_CODE.pagetable; // not a keyed load per frame
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
      out[n++] = e ? (e.huge ? 1 : 0) : -1;
    }
  }
  for (const id in s.mms) out[n++] = s.mms[id]!.pgd;
  return n;
};

/** What reachedTables() reads: which frames are page tables, and those tables' allocation, level and upper entries. */
export const upperKey: TablesKey = (s, out) => {
  let n = 0;
  const frames = s.frames;
  out[n++] = frames.length;
  for (let p = 0; p < frames.length; p++) {
    const f = frames[p]!;
    if (f.state !== 'pagetable') {
      out[n++] = 0;
      continue;
    }
    out[n++] = 1;
    out[n++] = f.allocId;
    out[n++] = f.level;
    const es = f.entries;
    out[n++] = es ? es.length : -1;
    if (!es || f.level <= 1) continue;
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
  return { tables, links: () => (links ??= linksOf(s, tables)), contents: {} };
}

/** The reference: computed from the whole state at every call. */
export const fullReach: Reach = ({ s }) => view(s);

/** A flattened key, kept with its length, and a scratch array for the next one. */
class Key {
  cur: number[] = [];
  len = -1;
  private next: number[] = [];
  constructor(private readonly of: TablesKey) {}
  /** Flattens `s`; true if equal to the kept key. The new key is not kept until take(). */
  same(s: KernelState): boolean {
    const len = (this.nextLen = this.of(s, this.next));
    if (len !== this.len) return false;
    for (let i = 0; i < len; i++) if (this.cur[i] !== this.next[i]) return false;
    return true;
  }
  private nextLen = 0;
  /** Keeps the key same() flattened last. */
  take(): void {
    [this.cur, this.next] = [this.next, this.cur];
    this.len = this.nextLen;
  }
}

interface Cached {
  full: Key;
  upper: Key;
  mms: string[];
  view: ReachView;
}

/** An incremental Reach over the two keys (tests pass broken ones, to see the comparison fail). */
export function incrementalReach(fullKey: TablesKey = tablesKey, upper: TablesKey = upperKey): Reach {
  const byState = new WeakMap<KernelState, Cached>();
  const reach: Reach = (ctx) => {
    const hit = ctx.stepCache.get(reach) as ReachView | undefined;
    if (hit) return hit;
    const s = ctx.s;
    let c = byState.get(s);
    if (!c) byState.set(s, (c = { full: new Key(fullKey), upper: new Key(upper), mms: [], view: { tables: new Map(), links: () => new Map(), contents: {} } }));
    const mms = sameMms(s, c.mms);
    if (!c.full.same(s) || !mms) {
      c.full.take();
      if (c.upper.same(s) && mms) c.view = { tables: c.view.tables, links: c.view.links, contents: {} }; // only PTEs or data frames changed
      else {
        c.view = view(s);
        c.mms = Object.keys(s.mms);
      }
      c.upper.take();
    }
    ctx.stepCache.set(reach, c.view);
    return c.view;
  };
  return reach;
}

function sameMms(s: KernelState, ids: string[]): boolean {
  let i = 0;
  for (const id in s.mms) if (ids[i++] !== id) return false;
  return i === ids.length;
}

/** The reach every property of the registry uses. */
export const reachAt: Reach = incrementalReach();
