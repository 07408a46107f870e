import { describe, expect, it } from 'vitest';
import { parseCheckFile } from './check_file.js';
import { judge, knownOf } from './patch_check.js';
import type { SignatureCount } from './campaign.js';

const check = (expect: Record<string, unknown>) => parseCheckFile('checks.json', JSON.stringify({ format: 'mshare-check/checks', version: 1, checks: [{ name: 'c', policy: 'linux', seed: 's', runs: 50, expect }] }))[0]!;
const sig = (signature: string, skipped: boolean, count = 1): SignatureCount => ({ signature, count, first: { index: 3, runSeed: 7 }, skipped });
const result = (signatures: SignatureCount[], interrupted = false) => ({ runs: 50, steps: 5000, signatures, interrupted });

const MUNMAP = 'unmap-complete|TLB|sys_munmap';
const MADVISE = 'unmap-complete|TLB|sys_madvise';
const FREE = 'no-freed-frame-reachable|TLB|tlb_batch_pages_flush';

describe('judge: the verdict of a check from its campaign', () => {
  it('passes when nothing shows and every property holds', () => {
    const v = judge(check({}), 'linux', result([]));
    expect(v).toMatchObject({ ok: true, unexpected: [], missing: [], unseen: [] });
  });

  it('fails on a signature of a property that must hold', () => {
    const v = judge(check({}), 'linux', result([sig(FREE, false, 4)]));
    expect(v.ok).toBe(false);
    expect(v.unexpected).toEqual([{ count: sig(FREE, false, 4), expected: 'holds' }]);
  });

  it('skips a known signature and passes, but fails on another signature of the same property', () => {
    const c = check({ 'unmap-complete': [MUNMAP] });
    expect(knownOf(c)).toEqual([MUNMAP]);
    expect(judge(c, 'linux', result([sig(MUNMAP, true)])).ok).toBe(true);
    const v = judge(c, 'linux', result([sig(MUNMAP, true), sig(MADVISE, false)]));
    expect(v.ok).toBe(false);
    expect(v.unexpected.map((u) => [u.count.signature, u.expected])).toEqual([[MADVISE, `known ${MUNMAP}`]]);
  });

  it('only notes a known signature that did not show', () => {
    const v = judge(check({ 'unmap-complete': [MUNMAP] }), 'linux', result([]));
    expect(v).toMatchObject({ ok: true, unseen: [MUNMAP], missing: [] });
  });

  it('fails when a signature that must show did not (a changed verdict)', () => {
    const c = check({ 'unmap-complete': { shows: [MUNMAP, MADVISE] } });
    const v = judge(c, 'linux', result([sig(MUNMAP, true)]));
    expect(v).toMatchObject({ ok: false, missing: [MADVISE], unexpected: [] });
    expect(judge(c, 'linux', result([sig(MUNMAP, true), sig(MADVISE, true)])).ok).toBe(true);
  });

  it('treats a model error as a new signature of no property, and flags it', () => {
    const v = judge(check({}), 'linux', result([sig('model-error|boom', false)]));
    expect(v).toMatchObject({ ok: false, modelError: true });
    expect(v.unexpected[0]!.expected).toBe('not a property');
  });

  it('claims nothing about missing signatures when interrupted', () => {
    const v = judge(check({ 'unmap-complete': { shows: [MUNMAP] } }), 'linux', result([], true));
    expect(v).toMatchObject({ ok: false, interrupted: true, missing: [] });
  });

  it('fails a check whose variant edit no run executed: the campaign never ran the patch (rule 4)', () => {
    const edits = ['replace kvm_make_all_cpus_request.wait', 'drop tlb_finish_mmu.flush'];
    const v = judge(check({}), 'linux+x', { ...result([]), editsRun: [1] }, edits);
    expect(v).toMatchObject({ ok: false, neverRun: ['replace kvm_make_all_cpus_request.wait'] });
    expect(judge(check({}), 'linux+x', { ...result([]), editsRun: [0, 1] }, edits).ok).toBe(true);
    expect(judge(check({}), 'linux+x', { ...result([], true), editsRun: [] }, edits).neverRun).toEqual([]); // interrupted: no claim
  });
});
