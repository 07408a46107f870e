// The command line: exit statuses, one-line errors naming file and line,
// byte-identical output for the same seed, and saved files never touched
// by bad input.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'mshare-check-'));
process.env.MSHARE_LOG = 'silent';

describe('mshare-check', () => {
  it('lists the policies, name first', async () => {
    const r = await cli('policies');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^linux\s+\d{4}-\d{2}\s+mainline/);
  });

  it('exits 0 on a clean campaign and prints the coverage counters', async () => {
    const r = await cli('fuzz', '--policy', 'linux', '--runs', '200', '--seed', 't', '--out', tmp());
    expect(r.code).toBe(0);
    expect(r.out).toContain('result: no violation in 200 runs');
    expect(r.out).toMatch(/lazy_return_catch_up\s+[1-9]/);
  });

  it('finds a mutant, saves it, and gives byte-identical files for the same seed', async () => {
    const [a, b] = [tmp(), tmp()];
    const r1 = await cli('fuzz', '--policy', 'linux', '--variant', 'variants/free-before-flush.ts', '--runs', '100', '--seed', 'same', '--out', a);
    const r2 = await cli('fuzz', '--policy', 'linux', '--variant', 'variants/free-before-flush.ts', '--runs', '100', '--seed', 'same', '--out', b);
    expect(r1.code).toBe(1);
    expect(r1.out).toContain('VIOLATION no-freed-frame-reachable');
    const [fa, fb] = [readdirSync(a), readdirSync(b)];
    expect(fa).toEqual(fb);
    expect(fa).toHaveLength(1);
    expect(readFileSync(join(a, fa[0]!))).toEqual(readFileSync(join(b, fb[0]!)));
    expect(r1.out.replaceAll(a, '')).toBe(r2.out.replaceAll(b, ''));
    const again = await cli('fuzz', '--policy', 'linux', '--variant', 'variants/free-before-flush.ts', '--runs', '100', '--seed', 'same', '--out', a);
    expect(again.out).toContain('already saved');
    expect(r1.out).toContain(`--variant variants/free-before-flush.ts`);
    const refused = await cli('replay', join(a, fa[0]!));
    expect(refused.code).toBe(2);
    expect(refused.err[0]).toMatch(/embeds variant 'free-before-flush' .* add --trust-variant, or --variant F/);
    const replay = await cli('replay', join(a, fa[0]!), '--variant', 'variants/free-before-flush.ts');
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('variant: running your local copy variants/free-before-flush.ts (same sha256)');
    expect(replay.out).toContain('verdict: same as saved');
  });

  it('replays a scenario written by hand', async () => {
    const dir = tmp();
    const f = join(dir, 'race.txt');
    writeFileSync(f, ['process P0', 'mmap P0 0x10000 pages=1 prot=rw', 'thread T0 P0 cpu=0', '  write 0x10000', '  madvise 0x10000 pages=1', 'thread T1 P0 cpu=1', '  read 0x10000', 'schedule', '  T0 until=user_access.walk', '  T1', '  T0', ''].join('\n'));
    expect((await cli('replay', f)).code).toBe(0);
    const bad = await cli('replay', f, '--variant', 'variants/free-before-flush.ts');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('VIOLATION no-freed-frame-reachable at step');
  });

  describe('bad input: exit 2, one line naming file and line, nothing saved touched', () => {
    const out = tmp();
    const keep = join(out, 'saved.json');
    writeFileSync(keep, '{"precious": true}\n');
    const dir = tmp();
    const bad = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const cases: [string, string[], RegExp][] = [
      ['an unknown policy', ['fuzz', '--policy', 'nope', '--out', out], /^mshare-check: unknown policy 'nope'/],
      ['a bad flag', ['fuzz', '--policy', 'linux', '--frobnicate', '--out', out], /^mshare-check: .*--frobnicate/],
      ['a bad --runs', ['fuzz', '--policy', 'linux', '--runs', 'many', '--out', out], /--runs must be a positive integer/],
      ['--runs with --time', ['fuzz', '--policy', 'linux', '--runs', '5', '--time', '1s', '--out', out], /not both/],
      ['an unknown op', ['fuzz', '--policy', 'linux', '--ops', 'read,fly', '--out', out], /unknown op 'fly'/],
      ['--ops with set-up kinds only', ['fuzz', '--policy', 'linux', '--ops', 'sva,vm', '--out', out], /^mshare-check: --ops sva,vm: no operation for the threads/],
      ['a missing file', ['replay', join(dir, 'nope.json')], /nope\.json:0: no such file/],
      ['malformed JSON', ['replay', bad('m.json', '{\n  "format": "mshare-check/counterexample",\n  oops\n}\n')], /m\.json:3: malformed JSON/],
      ['a JSON file of another kind', ['replay', bad('o.json', '{\n  "format": "other"\n}\n')], /o\.json:2: not a counterexample file/],
      ['a malformed scenario', ['replay', bad('s.txt', 'process P0\nthread T0 P0 cpu=0\n  reed 0x10000\n')], /s\.txt:3: unknown op 'reed'/],
      ['a scenario beyond its configuration', ['replay', bad('c.txt', 'process P0\nthread T0 P0 cpu=5\n  read 0x10000\n')], /c\.txt:2: thread 'T0' on cpu 5/],
      ['a scenario its policy refuses', ['replay', bad('p.txt', 'process P0\nmmap P0 0x10000 pages=2 prot=rw\nthread T0 P0 cpu=0\n  mremap 0x10000 0x20000 pages=1\n'), '--policy', 'mshare-v3'], /p\.txt:3: mremap under mshare-v3: not modelled for mshare designs/],
      ['reclaim in --ops of an mshare policy', ['fuzz', '--policy', 'mshare-v3', '--ops', 'read,reclaim', '--out', out], /unknown op 'reclaim' in --ops for mshare-v3/],
      ['a variant naming an unknown step', ['fuzz', '--policy', 'linux', '--variant', 'test/fixtures/variant-unknown-step.ts', '--out', out], /variant-unknown-step\.ts:1: .*no step 'tlb_finish_mmu\.no_such_step'/],
      ['a missing variant', ['fuzz', '--policy', 'linux', '--variant', 'variants/none.ts', '--out', out], /variants\/none\.ts:0: no such variant file/],
      ['an unknown command', ['frob'], /unknown command 'frob'/],
      ['a malformed checks file', ['check', bad('k.json', '{\n  "format": "mshare-check/checks",\n  "version": 1,\n  "checks": [ { "name": "a" } ]\n}\n'), '--out', out], /k\.json:4: checks\.0: missing key 'policy'/],
      ['a check that is not in the file', ['check', 'checks.json', '--check', 'nope', '--out', out], /^mshare-check: checks\.json: no check named 'nope'/],
    ];
    // What a command could write to: --out, the default --out (the corpus), the variants and the inputs.
    const watched = () => Object.fromEntries([out, dir, 'counterexamples', 'variants', 'test/fixtures'].flatMap((d) => readdirSync(d).map((f) => [join(d, f), readFileSync(join(d, f), 'utf8')])));
    for (const [what, argv, msg] of cases) {
      it(`rejects ${what}`, async () => {
        const before = watched();
        expect(Object.keys(before).length).toBeGreaterThan(20);
        const r = await cli(...argv);
        expect(r.code).toBe(2);
        expect(r.err).toHaveLength(1);
        expect(r.err[0]!.split('\n')[0]).toMatch(msg);
        expect(watched()).toEqual(before);
        expect(readFileSync(keep, 'utf8')).toBe('{"precious": true}\n');
      });
    }
  });

  describe('check: the verdicts a patch must keep (issue 14 item 5)', () => {
    // A checks file in a folder of its own, naming a kept mutant of variants/ by a path relative to it.
    const checksFile = (checks: object[]) => {
      const d = tmp();
      const f = join(d, 'checks.json');
      const variant = relative(d, resolve('variants/free-before-flush.ts'));
      writeFileSync(f, JSON.stringify({ format: 'mshare-check/checks', version: 1, checks: checks.map((c) => ({ policy: 'linux', variant, seed: 'patch', runs: 30, ...c })) }, null, 2));
      return f;
    };
    const FREE = 'no-freed-frame-reachable|TLB|tlb_batch_pages_flush';

    it('fails on a broken variant, saves the new signature and prints the report command that replays it', async () => {
      const out = tmp();
      const r = await cli('check', checksFile([{ name: 'my-patch', expect: {} }]), '--out', out, '--jobs', '1');
      expect(r.code).toBe(1);
      expect(r.out).toContain('check my-patch: linux+free-before-flush, seed "patch", 30 runs');
      expect(r.out).toContain(`NEW      ${FREE} (`);
      expect(r.out).toContain('the file expects: holds');
      expect(r.out).toContain('result: 1 of 1 check failed (my-patch)');
      const [, file, variant] = /report: npx mshare-check report (\S+) --variant (\S+)/.exec(r.out)!;
      expect(readdirSync(out).map((f) => join(out, f))).toContain(file);
      expect(r.out).toContain(`counterexample: ${file}`);
      const report = await cli('report', file!, '--variant', variant!);
      expect(report.code).toBe(1);
      expect(report.out).toContain(`Signature: ${FREE}`);
    });

    it('passes once the signature is recorded as known, and fails when one that must show does not', async () => {
      const out = tmp();
      const known = await cli('check', checksFile([{ name: 'known', expect: { 'no-freed-frame-reachable': [FREE] } }]), '--out', out, '--jobs', '1');
      expect(known.code).toBe(0);
      expect(known.out).toMatch(new RegExp(`known +${FREE.replaceAll('|', '\\|')} \\(\\d+ runs?, first run \\d+\\)`));
      expect(readdirSync(out)).toEqual([]); // known: counted, never shrunk or saved
      const missing = await cli('check', checksFile([{ name: 'gone', expect: { 'no-freed-frame-reachable': [FREE], 'unmap-complete': { shows: ['unmap-complete|TLB|sys_munmap'] } } }]), '--out', out, '--jobs', '1');
      expect(missing.code).toBe(1);
      expect(missing.out).toContain('CHANGED  unmap-complete|TLB|sys_munmap must show, and no run of 30 showed it');
    });

    it('fails with exit 3 when the new signature is a model error', async () => {
      const d = tmp();
      const f = join(d, 'checks.json');
      writeFileSync(f, JSON.stringify({ format: 'mshare-check/checks', version: 1, checks: [{ name: 'throws', policy: 'linux', variant: relative(d, resolve('test/fixtures/variant-throws-at-run.ts')), seed: 'patch', runs: 20, expect: {} }] }));
      const r = await cli('check', f, '--out', tmp(), '--jobs', '1');
      expect(r.code).toBe(3);
      expect(r.out).toMatch(/NEW {6}model-error\|.*boom.*the file expects: not a property/);
    });

    it('gives the same verdict and files for --jobs 1 and --jobs 2', async () => {
      const f = checksFile([{ name: 'my-patch', expect: {} }]);
      const [a, b] = [tmp(), tmp()];
      const r1 = await cli('check', f, '--out', a, '--jobs', '1');
      const r2 = await cli('check', f, '--out', b, '--jobs', '2');
      expect(r1.out.replaceAll(a, 'OUT')).toBe(r2.out.replaceAll(b, 'OUT'));
      expect(readdirSync(a)).toEqual(readdirSync(b));
    });
  });

  it('reports a variant that throws while running as a model error (exit 3)', async () => {
    const out = tmp();
    const r = await cli('fuzz', '--policy', 'linux', '--variant', 'test/fixtures/variant-throws-at-run.ts', '--runs', '50', '--out', out);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/MODEL ERROR .*TypeError: boom \(test\/fixtures\/variant-throws-at-run\.ts:\d+\)/);
  });
});

describe('mshare-check explore', () => {
  it('proves a scenario clean within its bound, with the same bytes on stdout each time', async () => {
    const a = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--bound', '0', '--out', tmp());
    const b = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--bound', '0', '--out', tmp());
    expect(a.code).toBe(0);
    expect(a.out).toContain('no violation within bound 0: every schedule with at most 0 preemptions was explored');
    expect(a.out).toMatch(/bound 0: \d+ states, \d+ complete schedules/);
    expect(b.out).toBe(a.out);
    expect(a.err.join('\n')).toMatch(/explore: [\d.]+ s/); // the time goes to stderr only
  });

  it('finds a variant\'s race, saves it, and the saved file replays to the same violation', async () => {
    const dir = tmp();
    const r = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--variant', 'variants/free-before-flush.ts', '--bound', '1', '--out', dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATION no-freed-frame-reachable at step \d+ \(T0: [\w.]+\) with 0 preemptions/);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const again = await cli('replay', join(dir, files[0]!), '--variant', 'variants/free-before-flush.ts');
    expect(again.code).toBe(1);
    expect(again.out).toContain('verdict: same as saved');
  });

  it('with --sleep-sets and --no-cross-last finds the same race and says what the reductions did', async () => {
    const plain = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--variant', 'variants/free-before-flush.ts', '--bound', '1', '--out', tmp());
    const r = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--variant', 'variants/free-before-flush.ts', '--bound', '1', '--sleep-sets', '--no-cross-last', '--out', tmp());
    expect(r.code).toBe(1);
    expect(r.out).toContain('state cache on (same last actor only), sleep sets on');
    expect(r.out).toMatch(/\d+ merged by the state cache, 0 preemptions spared by sleep sets \(0 of 0 step pairs independent\)/); // bound 1: no second preemption to spare
    const verdict = (o: string) => o.split('\n').find((l) => l.startsWith('VIOLATION'));
    expect(verdict(r.out)).toBeDefined();
    expect(verdict(r.out)).toBe(verdict(plain.out));
  });

  it("refuses a scenario its design cannot run (mremap under an mshare design, msharefs under linux) with one line and exit 2", async () => {
    const dir = tmp();
    const f = join(dir, 'mremap.txt');
    writeFileSync(f, 'process P0\nmmap P0 0x10000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  mremap 0x10000 0x30000 pages=1\n');
    const r = await cli('replay', f, '--policy', 'mshare-v3');
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`mshare-check: ${f}:3: mremap under mshare-v3: not modelled for mshare designs (the posted series says only that a partial mremap of an msharefs VMA fails in may_split)`]);
    const g = join(dir, 'msharefs.txt');
    writeFileSync(g, 'process P0\nmsharefs M owner=P0\nthread T0 P0 cpu=0\n  idle\n');
    const m = await cli('replay', g, '--policy', 'linux');
    expect(m.code).toBe(2);
    expect(m.err).toEqual([`mshare-check: ${g}:2: msharefs file 'M' under linux, which has no msharefs`]);
  });

  it('refuses a bad bound or a missing file with one line and exit 2', async () => {
    const bad = await cli('explore', 'test/scenarios/zap-while-cached.txt', '--bound', 'x');
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual(["mshare-check: --bound must be an integer from 0 to 50, got 'x'"]);
    const none = await cli('explore', 'no/such/file.txt');
    expect(none.code).toBe(2);
    expect(none.err).toHaveLength(1);
  });
});
