// Smaller arguments (SPEC 7, phase b): ranges of one page, offsets and
// `nth` towards 0, mappings anonymous and read-write (the fuzzer's
// default), fewer PCID slots, configuration keys back to their documented
// defaults. Generic over the fields an item has, so operations
// and setup items added later (mshare) shrink without changes here.

import { DEFAULT_CONFIG, type Config } from '../model/kernel/config.js';
import type { Op, Scenario, SetupItem } from '../model/run/scenario.js';

export interface ArgCandidate {
  what: string;
  scenario: Scenario;
}

/** Values below n worth trying, smallest first. */
const below = (n: number, min: number) => [...new Set([min, n - 1])].filter((x) => x >= min && x < n);

/** Smaller versions of one item: one page at either end of a range, offsets towards 0. */
function shrinkItem<T extends Op | SetupItem>(x: T): T[] {
  const out: T[] = [];
  const r = x as Record<string, unknown>;
  const at = 'va' in r ? 'va' : 'start' in r ? 'start' : null;
  if (typeof r.pages === 'number' && r.pages > 1) {
    const pages = r.pages;
    for (const p of below(pages, 1)) {
      out.push({ ...x, pages: p });
      if (at) out.push({ ...x, pages: p, [at]: (r[at] as number) + pages - p }); // the other end of the range
    }
  }
  // A mapping that is not writable often needs an mprotect only to let the racing write happen;
  // an anonymous one needs no file.
  if (x.kind === 'mmap' && typeof r.prot === 'object' && !(r.prot as { w: boolean }).w) out.push({ ...x, prot: { r: true, w: true } });
  if (x.kind === 'mmap' && r.file !== null) out.push({ ...x, file: null, pgoff: 0 });
  for (const k of ['pgoff', 'offset'] as const) {
    if (typeof r[k] === 'number' && (r[k] as number) > 0) for (const v of below(r[k] as number, 0)) out.push({ ...x, [k]: v });
  }
  return out;
}

export function argCandidates(sc: Scenario): ArgCandidate[] {
  const out: ArgCandidate[] = [];
  sc.threads.forEach((t, i) =>
    t.ops.forEach((op, j) => {
      for (const y of shrinkItem(op)) out.push({ what: `op ${t.name}.${j}`, scenario: { ...sc, threads: sc.threads.map((u, k) => (k === i ? { ...u, ops: u.ops.map((o, m) => (m === j ? y : o)) } : u)) } });
    }),
  );
  sc.setup.forEach((it, i) => {
    for (const y of shrinkItem(it)) out.push({ what: `setup ${it.kind} ${i}`, scenario: { ...sc, setup: sc.setup.map((x, k) => (k === i ? y : x)) } });
  });
  sc.choices.forEach((c, i) => {
    for (const nth of below(c.nth, 0)) out.push({ what: `choice ${i} nth ${nth}`, scenario: { ...sc, choices: sc.choices.map((x, k) => (k === i ? { ...x, nth } : x)) } });
  });
  const pcids = sc.config.pcids;
  if (pcids !== undefined) for (const p of below(pcids, 1)) out.push({ what: `pcids ${p}`, scenario: { ...sc, config: { ...sc.config, pcids: p } } });
  // A key at its default says nothing; `frames` is only a bound, so the default is tried too.
  for (const k of Object.keys(sc.config) as (keyof Config)[]) {
    if (sc.config[k] === DEFAULT_CONFIG[k] || k === 'frames') {
      const { [k]: _, ...rest } = sc.config;
      out.push({ what: `config ${k} default`, scenario: { ...sc, config: rest } });
    }
  }
  return out;
}
