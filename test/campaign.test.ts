// Campaigns that keep going (issue 14), through the command line: the same
// files and output for --jobs 1 and --jobs 2, two shards merged equal to
// the campaign on one machine, --skip-known finding a kept mutant's own
// signature on a policy with a known finding, SIGINT mid-campaign, and
// one-line errors (exit 2) for bad flags.
//
// Budget: mshare-v3 + variants/free-before-flush.ts, seed "kg-4", 40 runs:
// the policy's known unmap-complete finding (v3's P4D-stride unlink) shows first (run 16), then
// the variant's own no-freed-frame-reachable (run 18), a few seconds a
// campaign.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { loadCounterexample } from '../reports/counterexample.js';

process.env.MSHARE_LOG = 'silent';
const ROOT = resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(join(tmpdir(), 'mshare-check-campaign-'));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err };
}

/** Every file of a folder, by name, with its bytes. */
const files = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
const cxFiles = (dir: string) => Object.fromEntries(Object.entries(files(dir)).filter(([f]) => f.endsWith('.json')));

const CAMPAIGN = ['fuzz', '--policy', 'mshare-v3', '--variant', 'variants/free-before-flush.ts', '--runs', '40', '--seed', 'kg-4'];
const VARIANT_SIG = 'no-freed-frame-reachable|TLB|tlb_batch_pages_flush';
const KNOWN_SIG = 'unmap-complete|TLB|sys_munmap'; // counterexamples/mshare-v3-unmap-complete-5aa7a48ab7b3.json (v3's P4D-stride unlink)

describe('a campaign that keeps going', () => {
  const one = tmp();
  const single = cli(...CAMPAIGN, '--jobs', '1', '--out', one);

  it('shrinks and saves every new signature, lists each with its count, and goes on to its budget', async () => {
    const r = await single;
    expect(r.code).toBe(1);
    expect(r.out).toContain('fuzz: policy mshare-v3+free-before-flush, seed "kg-4", 40 runs');
    const listed = r.out.split('\n').filter((l) => /^ {2}\S+\|\S+\|\S+ +\d+ runs?, first run \d+/.test(l));
    expect(listed.map((l) => l.trim().split(/\s+/)[0])).toEqual(expect.arrayContaining([VARIANT_SIG, KNOWN_SIG]));
    const saved = Object.values(cxFiles(one)).map((t) => JSON.parse(t).signature);
    expect(saved.sort()).toEqual(listed.map((l) => l.trim().split(/\s+/)[0]).sort()); // one file per signature
    expect(r.out.match(/^found: /gm)).toHaveLength(listed.length);
    expect(r.out).toMatch(/^result: \d+ new signatures in 40 runs$/m);
    expect(r.out).toContain('\nvariant edits: all 1 executed\n'); // the move of tlb_finish_mmu.free ran
  });

  it("names the variant's edits that no run executed: a KVM mutant fuzzed with --ops without vm tested nothing", async () => {
    const r = await cli('fuzz', '--policy', 'linux', '--variant', 'variants/kvm-tlb-flush-no-wait.ts', '--ops', 'read,write,madvise,munmap', '--runs', '20', '--seed', 'edits', '--jobs', '1', '--out', tmp());
    expect(r.code).toBe(0);
    expect(r.out).toContain('variant edits never executed in 20 runs (this campaign did not test them):\n  replace kvm_make_all_cpus_request.wait\n');
    expect(r.out).not.toContain(' added (the variant edits'); // --ops given: the kinds are the user's
  });

  it('without --ops, a variant that edits a path only an opt-in kind enters is fuzzed with that kind (properties/generate/variant_ops.ts)', async () => {
    const r = await cli('fuzz', '--policy', 'linux', '--variant', 'variants/kvm-tlb-flush-no-wait.ts', '--runs', '20', '--seed', 'edits', '--jobs', '1', '--out', tmp());
    expect(r.out.split('\n')[0]).toBe('ops: vm added (the variant edits kvm_flush_remote_tlbs); give --ops to choose the kinds yourself');
    expect(r.out).toMatch(/^fuzz: policy linux\+kvm-tlb-flush-no-wait, seed "edits", 20 runs, \d+ steps, ops read,write,madvise,munmap,mprotect,mmap,gup,get_user_pages,numa_scan,idle,flush_tlb_all,exit,vm$/m);
    expect(r.out).toContain('\nvariant edits: all 1 executed\n');
  });

  it('gives byte-identical files and output for --jobs 1 and --jobs 2', async () => {
    const two = tmp();
    const r2 = await cli(...CAMPAIGN, '--jobs', '2', '--out', two);
    const r1 = await single;
    expect(r2.code).toBe(r1.code);
    expect(Object.keys(cxFiles(two)).length).toBeGreaterThanOrEqual(2);
    expect(files(two)).toEqual(files(one));
    expect(r2.out.replaceAll(two, 'OUT')).toBe(r1.out.replaceAll(one, 'OUT'));
  });

  it('gives, as two shards merged, the same files and summary as on one machine', async () => {
    const [s1, s2, merged] = [tmp(), tmp(), tmp()];
    const a = await cli(...CAMPAIGN, '--shard', '1/2', '--jobs', '1', '--out', s1);
    const b = await cli(...CAMPAIGN, '--shard', '2/2', '--jobs', '2', '--out', s2);
    expect(a.out).toContain('shard 1/2 (runs 0..19), 20 runs');
    expect(b.out).toContain('shard 2/2 (runs 20..39), 20 runs');
    expect(readdirSync(s1)).toContain('shard-1-of-2.mshare-campaign');
    const m = await cli('merge', s2, s1, '--out', merged);
    const r1 = await single;
    expect(m.code).toBe(r1.code);
    expect(files(merged)).toEqual(files(one));
    expect(m.out.replaceAll(merged, 'OUT')).toBe(r1.out.replaceAll(one, 'OUT'));
    // a shard missing, or given twice: refused in one line, nothing written
    const none = join(tmp(), 'merged');
    for (const dirs of [[s1], [s1, s1]]) {
      const bad = await cli('merge', ...dirs, '--out', none);
      expect(bad.code).toBe(2);
      expect(bad.err).toHaveLength(1);
      expect(bad.err[0]).toMatch(dirs.length === 1 ? /missing shard 2\/2 of the campaign/ : /shard 1\/2 given twice/);
      expect(existsSync(none)).toBe(false);
    }
    // a shard of another campaign
    const other = tmp();
    await cli('fuzz', '--policy', 'mshare-v3', '--runs', '4', '--seed', 'other', '--shard', '2/2', '--jobs', '1', '--out', other);
    const mixed = await cli('merge', s1, other, '--out', none);
    expect(mixed.code).toBe(2);
    expect(mixed.err[0]).toMatch(/a different campaign/);
    // a manifest naming a file outside its folder
    const evil = tmp();
    const m2 = JSON.parse(readFileSync(join(s2, 'shard-2-of-2.mshare-campaign'), 'utf8'));
    m2.findings = [{ ...m2.findings[0], file: '../../etc/passwd' }];
    writeFileSync(join(evil, 'shard-2-of-2.mshare-campaign'), JSON.stringify(m2));
    const outside = await cli('merge', s1, evil, '--out', none);
    expect(outside.code).toBe(2);
    expect(outside.err).toEqual([expect.stringMatching(/shard-2-of-2\.mshare-campaign:1: bad shard manifest: findings/)]);
    expect(existsSync(none)).toBe(false);
  });
});

describe('--skip-known and --skip', () => {
  it("finds a kept mutant's own signature on mshare-v3 with its known finding skipped, with no --property or --ops", async () => {
    const out = tmp();
    const r = await cli(...CAMPAIGN, '--skip-known', '--jobs', '1', '--out', out);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^ {2}${KNOWN_SIG.replaceAll('|', '\\|')} +\\d+ runs?, first run \\d+, known: skipped$`, 'm'));
    expect(r.out).toContain(`signature ${VARIANT_SIG}; shrunk`);
    expect(Object.values(cxFiles(out)).map((t) => JSON.parse(t).signature)).toEqual([VARIANT_SIG]);
    expect(r.out).toMatch(/^result: 1 new signature in 40 runs; 1 known signature skipped$/m);
    // Again into the same folder: what it saved is known now, and left as it was.
    const before = files(out);
    const again = await cli(...CAMPAIGN, '--skip-known', '--jobs', '2', '--out', out);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^result: no new violation in 40 runs; 2 known signatures skipped$/m);
    expect(files(out)).toEqual(before);
  });

  it('--skip SIG skips one signature', async () => {
    const out = tmp();
    const r = await cli(...CAMPAIGN, '--skip', VARIANT_SIG, '--skip', KNOWN_SIG, '--jobs', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^result: no new violation in 40 runs; 2 known signatures skipped$/m);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('SIGINT', () => {
  it('stops cleanly mid-campaign: saved files intact, the summary printed, exit 130', async () => {
    const out = tmp();
    const args = ['fuzz', '--policy', 'linux', '--variant', join(ROOT, 'variants/free-before-flush.ts'), '--runs', '10000000', '--seed', 'sigint', '--jobs', '2', '--out', out];
    const child = spawn(process.execPath, [join(ROOT, 'cli/bin.js'), ...args], { cwd: tmp(), env: { ...process.env, MSHARE_LOG: 'silent' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    for (let i = 0; i < 1200 && !/^replay: /m.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
    const saved = files(out);
    expect(Object.keys(saved)).toHaveLength(1); // the first finding, saved while the campaign goes on
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).toMatch(/^result: interrupted after \d+ runs \(SIGINT\); \d+ new signatures?$/m);
    expect(stdout).toMatch(/^fuzz: policy linux\+free-before-flush, seed "sigint", \d+ runs/m);
    expect(stdout).toContain('signatures (');
    const after = files(out);
    for (const [f, text] of Object.entries(saved)) expect(after[f]).toBe(text); // nothing lost or overwritten
    for (const f of Object.keys(after)) expect(loadCounterexample(join(out, f)).format).toBe('mshare-check/counterexample');
    expect(Object.keys(after).some((f) => f.includes('.tmp-'))).toBe(false);
  });
});

describe('bad campaign flags: exit 2, one line', () => {
  const out = tmp();
  writeFileSync(join(out, 'keep.json'), '{"precious": true}\n');
  const cases: [string, string[], RegExp][] = [
    ['--jobs 0', ['fuzz', '--policy', 'linux', '--jobs', '0', '--out', out], /--jobs must be a positive integer, got '0'/],
    ['--jobs two', ['fuzz', '--policy', 'linux', '--jobs', 'two', '--out', out], /--jobs must be a positive integer, got 'two'/],
    ['--jobs 100000', ['matrix', '--jobs', '100000'], /--jobs must be at most 256/],
    ['--shard 3/2', ['fuzz', '--policy', 'linux', '--runs', '10', '--shard', '3/2', '--out', out], /--shard must be K\/N with 1 <= K <= N \(e\.g\. 2\/4\), got '3\/2'/],
    ['--shard 0/2', ['fuzz', '--policy', 'linux', '--runs', '10', '--shard', '0/2', '--out', out], /--shard must be K\/N/],
    ['--shard 1', ['fuzz', '--policy', 'linux', '--runs', '10', '--shard', '1', '--out', out], /--shard must be K\/N/],
    ['--shard with --time', ['fuzz', '--policy', 'linux', '--time', '1s', '--shard', '1/2', '--out', out], /--shard needs --runs/],
    ['more shards than runs', ['fuzz', '--policy', 'linux', '--runs', '3', '--shard', '1/4', '--out', out], /more shards than the 3 runs/],
    ['an empty --skip', ['fuzz', '--policy', 'linux', '--skip', '', '--out', out], /--skip must be a signature/],
    ['--skip-known with a value', ['fuzz', '--policy', 'linux', '--skip-known=yes', '--out', out], /--skip-known/],
    ['merge without --out', ['merge', out], /merge needs --out DIR/],
    ['merge without a folder', ['merge', '--out', out], /merge takes the shards' out directories/],
    ['merge of a folder without a manifest', ['merge', out, '--out', join(out, 'm')], /no shard manifest/],
    ['merge of a missing folder', ['merge', join(out, 'nope'), '--out', join(out, 'm')], /nope: cannot read the directory \(ENOENT\)/],
  ];
  for (const [what, argv, msg] of cases) {
    it(`rejects ${what}`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^mshare-check: /);
      expect(r.err[0]).toMatch(msg);
      expect(files(out)).toEqual({ 'keep.json': '{"precious": true}\n' });
    });
  }

  it('refuses a corrupt shard manifest in one line', async () => {
    const d = tmp();
    writeFileSync(join(d, 'shard-1-of-1.mshare-campaign'), '{"format": "mshare-check/shard", ');
    const r = await cli('merge', d, '--out', join(d, 'm'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([expect.stringMatching(/shard-1-of-1\.mshare-campaign:1: malformed shard manifest/)]);
  });
});
