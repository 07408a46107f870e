// share-count fires when pt_share_count and the sharer links disagree once
// no sharer holds its page_table_lock (a lost link, a lost unlink), at the
// step after which they disagree, holds on v3 for the same scenarios, and
// says nothing for a design that keeps no count.

import { describe, expect, it } from 'vitest';
import { note } from '../model/kernel/locks.js';
import type { UnshareCtx } from '../model/kernel/paths/mshare.js';
import { tableIndex } from '../model/kernel/pagetable.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { CheckContext } from './property.js';
import { shareCount } from './share_count.js';
import { scenarioFile as load } from '../test/build.js';

const check = (name: string, policy: Policy) => runScenario(load(name), { policy, properties: [shareCount] });
const pol = (name: string) => policyByName(name)!;
const linkWithoutPtl = (base: Policy) =>
  applyVariant(base, defineVariant({ name: 'link-without-ptl', description: 'set_p4d without page_table_lock or recheck', edit: (v) => v.knobs({ linkLocking: 'none' }) }));

describe('share-count', () => {
  it('fires when two faults link at once without the PTL and recheck: counted twice, linked once', () => {
    // link-race: T0 and T1 both see "not linked"; both set the same pgd
    // entry and both count it (find_shared_vma, research/mshare.md 7).
    expect(check('link-race', pol('mshare-v3')).verdict).toBe('pass');
    expect(check('link-race', linkWithoutPtl(pol('mshare-v3'))).violation).toEqual({
      property: 'share-count', holder: 'upper entry', step: 56, actor: 'T1', stepId: 'find_shared_vma.set_p4d',
      message: "pt_share_count of M's PUD table 2 is 2, but 1 sharer entry links to it",
    });
  });

  it('fires once the PTL is dropped when an unlink does not decrement, not while it is held', () => {
    // hazard5 on v3: the munmap of the msharefs VMA unlinks under P's
    // page_table_lock; the count is only compared after spin_unlock.
    const noDec = applyVariant(
      pol('mshare-v3'),
      defineVariant({
        name: 'unshare-without-dec',
        description: 'mshare_vm_op_unshare_page_range clears the link but keeps pt_share_count',
        edit: (v) =>
          v.replace('mshare_vm_op_unshare_page_range.p4d_clear', function* (k, c: UnshareCtx) {
            const pgd = k.s.frames[k.s.mms[c.mm]!.pgd]!;
            pgd.entries![tableIndex(k.s.config, c.vma.start, 4)] = null;
            note(k, 'upper-clear', c.mm, `pgd entry of msharefs VMA ${c.vma.file}`);
            yield { id: 'mshare_vm_op_unshare_page_range.p4d_clear' };
          }),
      }),
    );
    expect(check('hazard5-detach-keeps-link', pol('mshare-v3')).verdict).toBe('pass');
    const r = check('hazard5-detach-keeps-link', noDec);
    expect(r.violation).toMatchObject({
      property: 'share-count', holder: 'upper entry', actor: 'T0', stepId: 'mshare_vm_op_unshare_page_range.spin_unlock',
      message: "pt_share_count of M's PUD table 2 is 1, but 0 sharer entries link to it",
    });
    expect(r.trace[r.violation!.step - 2]!.id).toBe('mshare_vm_op_unshare_page_range.p4d_clear');
  });

  it('says nothing for a design that keeps no count (v2 links without one)', () => {
    const r = check('link-race', linkWithoutPtl(pol('mshare-v2')));
    expect(r.verdict).toBe('pass');
    expect(r.trace.filter((e) => e.id === 'find_shared_vma.set_p4d')).toHaveLength(2);
  });
});

describe('share-count on a state taken from a run', () => {
  // Direct calls on the final state of a real run, edited in one place:
  // no design holds the host's page_table_lock while a link goes wrong,
  // and no scenario keeps a link to an earlier table at the same frame
  // (v3 never frees a counted table), so only an edited state pins these.
  const policy = pol('mshare-v3');
  const at = (r: ReturnType<typeof check>) => shareCount.check({ s: r.state, policy } as unknown as CheckContext);

  it("is not silenced by the host's own page_table_lock, only by a sharer's", () => {
    const r = check('link-race', linkWithoutPtl(policy));
    expect(at(r)?.message).toMatch(/is 2, but 1 sharer entry links/);
    r.state.locks['page_table_lock:M.host'] = { cls: 'page_table_lock', holders: ['T9'], mode: 'w' };
    expect(at(r)?.message).toMatch(/is 2, but 1 sharer entry links/);
    r.state.locks['page_table_lock:P0'] = { cls: 'page_table_lock', holders: ['T9'], mode: 'w' };
    expect(at(r)).toBeNull();
  });

  it('does not count an entry that points at the frame of an earlier table', () => {
    const r = check('link-race', policy);
    expect(at(r)).toBeNull();
    const pgd = r.state.frames[r.state.mms['P0' as never]!.pgd]!;
    const link = pgd.entries!.find((e) => e !== null)!;
    link.ghost -= 1; // the frame was freed and reallocated since this entry was made
    expect(at(r)?.message).toMatch(/^pt_share_count of M's PUD table \d+ is 1, but 0 sharer entries link to it$/);
  });
});
