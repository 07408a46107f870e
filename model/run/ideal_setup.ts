// The ideal memory's starting state, from a scenario's setup (runner.ts).

import { resolveConfig } from '../kernel/config.js';
import { gmemIdealMm, type IdealMshare, type IdealState } from '../ideal/ideal.js';
import { hostOf, hostRegion } from '../kernel/mshare/msharefs.js';
import type { Policy } from '../policies/policy.js';
import type { Scenario } from './scenario.js';

/**
 * The reference's starting state. It knows the design's user-visible
 * contract (whether an owner's exit unmaps the region), never how the
 * kernel model implements it.
 */
export function idealFromSetup(sc: Scenario, policy: Policy): { st: IdealState; ms: Record<string, IdealMshare> } {
  const st: IdealState = { maps: {}, contents: {}, windows: {} };
  const ms: Record<string, IdealMshare> = {};
  const region = hostRegion(resolveConfig(sc.config));
  const contract = policy.mshare?.madvise === 'refused' ? { madviseRefused: true } : {};
  for (const it of sc.setup) {
    if (it.kind === 'process') st.maps[it.name] ??= {};
    if (it.kind === 'gmem') {
      const g = (st.maps[gmemIdealMm(it.name)] = {} as IdealState['maps'][string]);
      for (let i = 0; i < it.pages; i++) g[i] = { lp: `gmem:setup:${it.name}:${i}`, prot: { r: true, w: true }, anon: false };
    }
    if (it.kind === 'msharefs') ms[it.name] = { host: hostOf(it.name), ...region, owner: policy.mshare?.owner ? it.owner : null, ...contract };
    if (it.kind === 'mshare_map') {
      const host = (st.maps[ms[it.file]!.host] ??= {});
      for (let i = 0; i < it.pages; i++) host[region.start + it.offset + i] = { lp: `shm:setup:${it.file}:${it.offset + i}`, prot: { ...it.prot }, anon: false };
    }
    if (it.kind !== 'mmap') continue;
    const pages = (st.maps[it.proc] ??= {});
    for (let v = it.start; v < it.start + it.pages; v++) {
      const lp = it.file ? `file:${it.file}:${it.pgoff + v - it.start}` : `anon:setup:${it.proc}:${v}`;
      pages[v] = { lp, prot: { ...it.prot }, anon: !it.file };
    }
  }
  // mshare 2026: a region made by an mshare_create op, owned by the creating process (paths/mshare_2026.ts)
  for (const t of sc.threads) for (const op of t.ops) if (op.kind === 'mshare_create') ms[op.file] = { host: hostOf(op.file), ...region, owner: t.proc, ...contract };
  return { st, ms };
}
