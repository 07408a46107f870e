// Every knob of every mshare policy says where its value comes from (issue
// 10): a patch (subject and date) and the function that decides it, a
// talk, or an explicit unknown/guess. The uncited ones are listed here so
// that a change to them is a deliberate edit.

import { describe, expect, it } from 'vitest';
import { isUncited } from '../kernel/mshare/knob_source.js';
import type { MshareKnobs } from '../kernel/mshare/knobs.js';
import { MSHARE_POLICIES } from './mshare.js';

const KNOBS: readonly (keyof MshareKnobs)[] = ['attach', 'linkLocking', 'shareCount', 'unlinkPoint', 'hostFlush', 'notifierPassThrough', 'madvise', 'gup', 'numa', 'migrate', 'unmapIoctl', 'owner'];

describe('mshare.ts knobSources', () => {
  it('cites every knob of every mshare policy, patch citations with a subject or series, a date and the deciding function', () => {
    expect(Object.keys(MSHARE_POLICIES[0]!.mshare!).sort()).toEqual([...KNOBS].sort());
    for (const p of MSHARE_POLICIES) {
      for (const k of [...KNOBS, 'unlinkFlush' as const]) {
        const s = p.knobSources?.[k];
        expect(s, `${p.name}.${k}`).toBeDefined();
        expect(s!.cite.length, `${p.name}.${k}`).toBeGreaterThan(10);
        if (s!.status === 'patch') {
          expect(s!.cite, `${p.name}.${k}`).toMatch(/PATCH.*\d{4}-\d{2}-\d{2}/);
          expect(s!.fn, `${p.name}.${k}`).toMatch(/^[a-z_0-9]+$/);
        }
      }
    }
  });

  it('leaves uncited only what the patches leave open', () => {
    const uncited = MSHARE_POLICIES.flatMap((p) => KNOBS.filter((k) => isUncited(p.knobSources?.[k])).map((k) => `${p.name}.${k}`));
    expect(uncited).toEqual(['mshare-rfc-v3.numa', 'mshare-v3-proposed.gup']);
  });

  it('never uses the madvise value no version has (allowed) in a named policy', () => {
    for (const p of MSHARE_POLICIES) expect(p.mshare!.madvise, p.name).not.toBe('allowed');
    expect(MSHARE_POLICIES.map((p) => p.mshare!.madvise)).toEqual(['early-return', 'empty-hook', 'unshare-hook', 'unshare-hook', 'unshare-hook', 'refused']);
  });
});
