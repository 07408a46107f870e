// The knob table of a policy page (docs/policies/<policy>.md, issue 10):
// one row per knob with its value and where that value comes from,
// generated from the policy's knobSources so that the page cannot drift
// from the model (reports/knob_table.test.ts compares them).

import type { KnobSource } from '../model/kernel/mshare/knob_source.js';
import type { MshareKnobs } from '../model/kernel/mshare/knobs.js';
import type { Policy } from '../model/policies/policy.js';

const ROWS: readonly [keyof MshareKnobs | 'unlinkFlush', string][] = [
  ['attach', 'where a sharer may attach'],
  ['linkLocking', 'link locking (find_shared_vma)'],
  ['shareCount', 'share count on the shared table'],
  ['unlinkPoint', 'unlink point'],
  ['unlinkFlush', "the unlink's flush range and flags"],
  ['hostFlush', 'host-side flush'],
  ['notifierPassThrough', 'notifier pass-through'],
  ['madvise', 'MADV_DONTNEED through a window'],
  ['gup', 'GUP through a window'],
  ['numa', 'NUMA scanning of a window'],
  ['migrate', 'move_pages() through a window'],
  ['unmapIoctl', 'MSHAREFS_UNMAP'],
  ['owner', 'owner'],
];

const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function valueOf(p: Policy, k: keyof MshareKnobs | 'unlinkFlush'): string {
  if (k === 'unlinkFlush') return { none: '-', free_pgtables: 'bare p4d_clear()', unmap_page_range: 'tlb_flush_p4d_range()' }[p.mshare!.unlinkPoint];
  return `\`${String(p.mshare![k])}\``;
}

function source(s: KnobSource | undefined): string {
  if (!s) return '**unknown** (no source recorded)';
  const status = s.status === 'patch' ? 'patch' : s.status === 'talk' ? 'talk' : `**${s.status}**`;
  return `${status}: ${s.cite}${s.fn ? `; \`${s.fn}()\`` : ''}${s.note ? `. ${s.note}` : ''}`;
}

/** The markdown table of `p`'s knobs (an mshare policy). */
export function knobTable(p: Policy): string {
  const lines = ['| knob | value | source (status: citation; deciding function. note) |', '|---|---|---|'];
  for (const [k, label] of ROWS) lines.push(`| ${label} (\`${k}\`) | ${cell(valueOf(p, k))} | ${cell(source(p.knobSources?.[k]))} |`);
  return lines.join('\n');
}
