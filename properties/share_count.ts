import { isHost } from '../model/kernel/mshare/msharefs.js';
import type { Property } from './property.js';

/**
 * pt_share_count of every shared PUD table equals the sharer top-level
 * entries that link to it, checked whenever no sharer holds its
 * page_table_lock (links and unlinks change both under it in v3).
 */
export const shareCount: Property = {
  id: 'share-count',
  statement: "where a design keeps pt_share_count, it equals the number of sharer links whenever the sharers' page_table_lock is free",
  rule: 'find_shared_vma() increments and mshare_vm_op_unshare_page_range() decrements under P->page_table_lock (docs/mshare-hazards.md 7)',
  check({ s, policy }) {
    if (!policy.mshare?.shareCount) return null;
    for (const [name, l] of Object.entries(s.locks)) {
      if (l.holders.length > 0 && name.startsWith('page_table_lock:') && !isHost(s, name.slice('page_table_lock:'.length))) return null;
    }
    for (const f of Object.values(s.mshare)) {
      const hostPgd = s.frames[s.mms[f.host]!.pgd]!;
      const i = Math.floor(f.start / f.pages) % s.config.fanout;
      const e = hostPgd.entries![i];
      if (!e) continue;
      const t = s.frames[e.pfn]!;
      let links = 0;
      for (const mm of Object.values(s.mms)) {
        if (isHost(s, mm.id)) continue;
        for (const x of s.frames[mm.pgd]!.entries!) if (x && x.pfn === t.pfn && x.ghost === t.allocId) links++;
      }
      if (t.shareCount !== links) return { holder: 'upper entry', message: `pt_share_count of ${f.name}'s PUD table ${t.pfn} is ${t.shareCount}, but ${links} sharer entr${links === 1 ? 'y links' : 'ies link'} to it` };
    }
    return null;
  },
};
