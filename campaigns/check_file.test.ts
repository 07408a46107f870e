import { describe, expect, it } from 'vitest';
import { CheckFileError, parseCheckFile } from './check_file.js';

const file = (checks: unknown[]) => JSON.stringify({ format: 'mshare-check/checks', version: 1, checks }, null, 2);
const ok = { name: 'a', policy: 'linux', seed: 's', runs: 10, expect: {} };

function problem(text: string): string {
  try {
    parseCheckFile('/repo/checks.json', text);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckFileError);
    return (e as Error).message;
  }
  throw new Error('parsed');
}

describe('checks file', () => {
  it('defaults every unlisted property to holds and resolves the variant against the file', () => {
    const [c] = parseCheckFile('checks.json', file([{ ...ok, variant: 'variants/no-ipi.ts', expect: { 'unmap-complete': ['unmap-complete|TLB|sys_munmap'], 'protect-complete': { shows: ['protect-complete|TLB|sys_mprotect'] } } }]));
    expect(c!.expect['unmap-complete']).toEqual({ known: ['unmap-complete|TLB|sys_munmap'], mustShow: false });
    expect(c!.expect['protect-complete']).toEqual({ known: ['protect-complete|TLB|sys_mprotect'], mustShow: true });
    expect(c!.expect['read-value']).toBe('holds');
    expect(c!.variant!.path).toMatch(/\/variants\/no-ipi\.ts$/);
    expect(c!.line).toBe(5);
  });

  it.each([
    ['not JSON', '{\n  "format": "mshare-check/checks",\n  "version": 1\n  "checks": []\n}', /^\/repo\/checks.json:4: not JSON/],
    ['cut short', '{\n  "format":', /^\/repo\/checks.json:2: not JSON/],
    ['another format', file([]).replace('mshare-check/checks', 'x'), /^\/repo\/checks.json:2: format: must be "mshare-check\/checks"/],
    ['an unknown property', file([{ ...ok, expect: { 'unmap-completed': 'holds' } }]), /^\/repo\/checks.json:11: checks.0.expect.unmap-completed: unknown key/],
    ['an unknown policy', file([{ ...ok, policy: 'mshare-v9' }]), /^\/repo\/checks.json:7: checks.0.policy: must be one of linux, /],
    ['a bad expectation word', file([{ ...ok, expect: { 'read-value': 'passes' } }]), /:11: checks.0.expect.read-value: must be "holds", got "passes"/],
    ['an expectation of the wrong type', file([{ ...ok, expect: { 'read-value': 3 } }]), /:11: checks.0.expect.read-value: must be "holds", a list of known signatures, or \{ "shows": \[signatures\] \}, got number/],
    ['a malformed signature', file([{ ...ok, expect: { 'read-value': ['read-value'] } }]), /:12: checks.0.expect.read-value.0: "read-value" is not a signature property\|holder\|function/],
    ['a signature under another property', file([{ ...ok, expect: { 'read-value': ['unmap-complete|TLB|sys_munmap'] } }]), /:10: checks.0.expect: signature 'unmap-complete\|TLB\|sys_munmap' is listed under 'read-value'/],
    ['an empty shows', file([{ ...ok, expect: { 'read-value': { shows: [] } } }]), /:11: checks.0.expect.read-value: "shows" needs at least one signature/],
    ['no budget', file([{ name: 'a', policy: 'linux', seed: 's', expect: {} }]), /:5: checks.0: missing key 'runs'/],
    ['a zero budget', file([{ ...ok, runs: 0 }]), /:9: checks.0.runs: must be at least 1, got 0/],
    ['a missing variant file', file([{ ...ok, variant: 'variants/nope.ts' }]), /^\/repo\/checks.json:11: no variant file 'variants\/nope.ts'/],
    ['a variant path that is not a .ts file', file([{ ...ok, variant: '../../etc/passwd' }]), /:11: checks.0.variant: "..\/..\/etc\/passwd" is not a relative path to a .ts variant file/],
    ['two checks of one name', file([ok, ok]), /:13: a second check named 'a' \(the first is check 0\)/],
    ['an unknown op', file([{ ...ok, ops: ['read', 'truncate'] }]), /:13: checks.0.ops.1: must be one of read, /],
  ])('refuses %s with one line naming the file and line', (_what, text, want) => {
    const m = problem(text);
    expect(m).toMatch(want);
    expect(m).not.toContain('\n');
  });
});
