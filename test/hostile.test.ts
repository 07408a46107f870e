// Hostile input (issue 8): files, flags, schema, file-system oddities and
// embedded code, tried as an attacker or a careless user would. Every case
// asserts the exit status, a single error line with the file and line or
// the flag, and that nothing saved changed: the campaign's --out folder,
// the corpus, variants/ and the test's own files, compared by content.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { sha256 } from '../model/policies/load_variant.js';

process.env.MSHARE_LOG = 'silent';
const ROOT = resolve(import.meta.dirname, '..');
const CORPUS = join(ROOT, 'counterexamples');
const WITH_VARIANT = join(CORPUS, 'linux+free-before-flush-no-freed-frame-reachable-6f3de9c35892.json');
const PLAIN = join(CORPUS, 'mshare-v3-cpumask-union-no-freed-frame-reachable-ed8c281212df.json');

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err };
}

/** Every file under the folders a command could write to, by content hash. */
function snapshot(dirs: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.isFile()) m[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
      else m[p] = 'special';
    }
  };
  for (const d of dirs) walk(d);
  return m;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'mshare-check-hostile-'));
const dir = tmp();
const out = tmp();
writeFileSync(join(out, 'precious.json'), '{"precious": true}\n');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const corpusJson = (path = PLAIN) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
/** A corpus file with one change, pretty-printed like a saved file so lines mean something. */
const edited = (name: string, change: (o: Record<string, any>) => void, from = PLAIN) => {
  const o = corpusJson(from);
  change(o);
  return file(name, JSON.stringify(o, null, 2) + '\n');
};
/** A counterexample whose embedded variant is `source`, with a matching (attacker-computed) hash. */
const crafted = (name: string, source: string) =>
  edited(name, (o) => {
    o.variant.source = source;
    o.variant.sha256 = sha256(source);
  }, WITH_VARIANT);

const REAL_VARIANT = readFileSync(join(ROOT, 'variants/free-before-flush.ts'), 'utf8');
const marker = join(dir, 'pwned');
const evil = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, import.meta.url);\n${REAL_VARIANT}`;

const fifo = join(dir, 'fifo.json');
execFileSync('mkfifo', [fifo]);
const big = join(dir, 'big.json');
writeFileSync(big, '');
truncateSync(big, 5 * 1024 * 1024);
const loop = join(dir, 'loop.json');
symlinkSync(loop, loop);
mkdirSync(join(dir, 'adir.json'));
const aFile = file('not-a-dir', 'x');
const threads = (n: number) => ['process P0', ...Array.from({ length: n }, (_, i) => `thread T${i} P0 cpu=0\n  read 0x10000`)].join('\n') + '\n';
const SCEN = 'process P0\nmmap P0 0x10000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  write 0x10000\n  madvise 0x10000 pages=1\nthread T1 P0 cpu=1\n  read 0x10000\n';

// [what, argv, exit status, the one error line]
const CASES: [string, string[], number, RegExp][] = [
  // files
  ['a missing file', ['replay', join(dir, 'nope.json')], 2, /nope\.json:0: no such file$/],
  ['a directory', ['replay', join(dir, 'adir.json')], 2, /adir\.json:0: is a directory, not a regular file/],
  ['a FIFO (would block on open)', ['replay', fifo], 2, /fifo\.json:0: is a FIFO, not a regular file/],
  ['/dev/zero (endless)', ['replay', '/dev/zero'], 2, /\/dev\/zero:0: is a character device/],
  ['a symlink loop', ['report', loop], 2, /loop\.json:0: cannot stat \(ELOOP\)/],
  ['a file above the size limit', ['replay', big], 2, /big\.json:0: 5242880 bytes, above the limit of 4194304/],
  ['a binary file', ['replay', file('bin.txt', 'process P0\n\0\0\0')], 2, /bin\.txt:2: a NUL byte/],
  ['an empty .json file', ['replay', file('empty.json', '')], 2, /empty\.json:1: malformed JSON/],
  ['a report of a scenario text', ['report', file('s1.txt', SCEN)], 2, /s1\.txt:1: malformed JSON/],
  // counterexample schema
  ['malformed JSON', ['replay', file('m.json', '{\n  "format": "mshare-check/counterexample",\n  oops\n}\n')], 2, /m\.json:3: malformed JSON/],
  ['JSON of another kind', ['replay', file('o.json', '{\n  "format": "other"\n}\n')], 2, /o\.json:2: not a counterexample file/],
  ['an unsupported version', ['replay', edited('v.json', (o) => (o.version = 9))], 2, /v\.json:3: unsupported version 9/],
  ['ops: null', ['replay', edited('n.json', (o) => (o.scenario.threads[0].ops = null))], 2, /n\.json:\d+: scenario\.threads\.0\.ops: must be an array, got null/],
  ['an unknown top-level key', ['replay', edited('k.json', (o) => (o.run = 'rm -rf /'))], 2, /k\.json:\d+: run: unknown key 'run'/],
  ['an unknown op', ['replay', edited('u.json', (o) => (o.scenario.threads[0].ops[0].kind = 'fly'))], 2, /u\.json:\d+: scenario\.threads\.0\.ops\.0: unknown kind "fly"/],
  ['an unknown op key', ['replay', edited('uk.json', (o) => (o.scenario.threads[0].ops[0].hugepage = true))], 2, /uk\.json:\d+: scenario\.threads\.0\.ops\.0\.hugepage: unknown key 'hugepage'/],
  ['pages: -1', ['replay', edited('p.json', (o) => (o.scenario.setup.find((x: { kind: string }) => x.kind === 'mshare_map').pages = -1))], 2, /p\.json:\d+: scenario\.setup\.\d+\.pages: must be at least 1, got -1/],
  ['a string for a number', ['replay', edited('c.json', (o) => (o.scenario.threads[0].cpu = '0'))], 2, /c\.json:\d+: scenario\.threads\.0\.cpu: must be an integer, got a string/],
  ['an unknown config key', ['replay', edited('ck.json', (o) => (o.scenario.config.hugepages = 1))], 2, /ck\.json:\d+: scenario\.config\.hugepages: unknown key/],
  ['frames=1e9 (out of memory)', ['replay', edited('f.json', (o) => (o.scenario.config.frames = 1e9))], 2, /f\.json:\d+: config frames=1000000000 is above the limit of 4096/],
  ['17 threads', ['replay', edited('t.json', (o) => (o.scenario.threads = Array.from({ length: 17 }, (_, i) => ({ name: `T${i}`, proc: 'P0', cpu: 0, ops: [] }))))], 2, /t\.json:\d+: scenario\.threads: 17 entries, above the limit of 16/],
  ['an escape sequence in a name', ['replay', edited('esc.json', (o) => (o.scenario.threads[0].name = 'T\u001b[31m0'))], 2, /esc\.json:\d+: scenario\.threads\.0\.name: "T\\u001b\[31m0" is not a name/],
  ['a write-only protection', ['replay', edited('wo.json', (o) => (o.scenario.setup.find((x: { kind: string }) => x.kind === 'mshare_map').prot = { r: false, w: true }))], 2, /wo\.json:\d+: .*x86 has no write-only pages/],
  ['an unknown policy in the file', ['replay', edited('pol.json', (o) => (o.policy = 'mshare-v9'))], 2, /pol\.json:5: unknown policy 'mshare-v9'/],
  ['a schedule naming a step that does not exist', ['replay', edited('until.json', (o) => (o.scenario.schedule = [{ actor: 'T0', until: 'user_access.wlak' }]))], 2, /until\.json:\d+: until=user_access\.wlak names no step of mshare-v3-cpumask-union \(did you mean 'user_access\.walk'\?\)/],
  ['an unknown choice point', ['replay', edited('ch.json', (o) => (o.scenario.choices = [{ actor: 'T0', point: 'zap_pte_range.batch_ful', nth: 0 }]))], 2, /ch\.json:\d+: unknown choice point 'zap_pte_range\.batch_ful' \(did you mean 'zap_pte_range\.batch_full'\?\)/],
  // embedded code
  ['an embedded variant without --trust-variant', ['replay', crafted('evil.json', evil)], 2, /evil\.json: embeds variant 'free-before-flush' \(sha256 [0-9a-f]{12}, \d+ bytes of TypeScript\) that would run as code: read it, then add --trust-variant/],
  ['a report of it without --trust-variant', ['report', crafted('evil2.json', evil)], 2, /evil2\.json: embeds variant/],
  ['a tampered variant (hash not updated)', ['replay', edited('tamper.json', (o) => (o.variant.source += '\n// x'), WITH_VARIANT), '--trust-variant'], 2, /tamper\.json:\d+: embedded variant 'free-before-flush' does not match its sha256/],
  ['a variant hash that is not hex', ['replay', edited('hex.json', (o) => (o.variant.sha256 = 'z'.repeat(64)), WITH_VARIANT), '--trust-variant'], 2, /hex\.json:\d+: variant\.sha256: .* is not 64 hex digits/],
  ['an absolute variant path', ['replay', edited('abs.json', (o) => (o.variant.file = '/etc/cron.d/x.ts'), WITH_VARIANT), '--trust-variant'], 2, /abs\.json:\d+: variant file name '\/etc\/cron\.d\/x\.ts' is not a plain relative \.ts path/],
  ['a local --variant whose edit() loops forever', ['replay', file('s2.txt', SCEN), '--variant', join(ROOT, 'test/fixtures/variant-loops-in-edit.ts')], 2, /variant-loops-in-edit\.ts:1: the variant's edit\(\) threw VariantBudgetError: variant .* ran 1000000 loop iterations/],
  ['--trust-variant on a scenario text', ['replay', file('s3.txt', SCEN), '--trust-variant'], 2, /s3\.txt: a scenario text file embeds no variant/],
  ['--trust-variant on a file without a variant', ['replay', PLAIN, '--trust-variant'], 2, /embeds no variant \(--trust-variant has nothing to run\)/],
  ['--variant with --trust-variant', ['replay', WITH_VARIANT, '--trust-variant', '--variant', 'variants/no-ipi.ts'], 2, /give --variant or --trust-variant, not both/],
  ['a variant that is a directory', ['replay', file('s4.txt', SCEN), '--variant', join(ROOT, 'variants')], 2, /variants:0: not a regular file/],
  // scenario text
  ['an empty scenario', ['replay', file('e.txt', '# nothing\nprocess P0\n')], 2, /e\.txt:\d+: the scenario has no threads/],
  ['350k threads', ['replay', file('many.txt', threads(20000))], 2, /many\.txt:\d+: 20000 threads, above the limit of 16/],
  ['until= with a one-letter typo (the README example)', ['replay', file('ty.txt', SCEN + 'schedule\n  T0 until=user_access.wakl\n')], 2, /ty\.txt:9: until=user_access\.wakl names no step of linux \(did you mean 'user_access\.walk'\?\)/],
  ['an unknown op in text', ['replay', file('op.txt', 'process P0\nthread T0 P0 cpu=0\n  reed 0x10000\n')], 2, /op\.txt:3: unknown op 'reed'/],
  ['pages=-1 in text', ['replay', file('neg.txt', 'process P0\nthread T0 P0 cpu=0\n  madvise 0x10000 pages=-1\n')], 2, /neg\.txt:3: pages must be a positive integer, got '-1'/],
  ['an unknown config key in text', ['replay', file('cfg.txt', 'config hugepages=1\nprocess P0\nthread T0 P0 cpu=0\n  read 0x10000\n')], 2, /cfg\.txt:1: unknown config key 'hugepages'/],
  // mshare 2026's calls (model/kernel/paths/mshare_2026.ts)
  ['an mshare_attach of a region nothing creates (JSON)', ['replay', edited('m26a.json', (o) => (o.scenario.threads[0].ops = [{ kind: 'mshare_attach', file: 'N', va: 128, offset: 0, pages: 64 }]))], 2, /m26a\.json:\d+: mshare_attach of 'N', which no msharefs line or mshare_create op makes$/],
  ['an mshare_attach without offset (JSON)', ['replay', edited('m26b.json', (o) => (o.scenario.threads[0].ops = [{ kind: 'mshare_attach', file: 'M', va: 128, pages: 64 }]))], 2, /m26b\.json:\d+: scenario\.threads\.0\.ops\.0: missing key 'offset'$/],
  ['an mshare_create of a declared msharefs file (JSON)', ['replay', edited('m26c.json', (o) => (o.scenario.threads[0].ops = [{ kind: 'mshare_create', file: 'M' }]))], 2, /m26c\.json:\d+: mshare_create of 'M', a file already declared or created$/],
  ['an mshare_protect without prot in text', ['replay', file('m26d.txt', 'process P0\nthread T0 P0 cpu=0\n  mshare_create M\n  mshare_protect M offset=0 pages=1\n')], 2, /m26d\.txt:4: missing prot=$/],
  ['a config above its limit in text', ['replay', file('cfg2.txt', 'config cpus=64\nprocess P0\nthread T0 P0 cpu=0\n  read 0x10000\n')], 2, /cfg2\.txt:1: config cpus=64 is above the limit of 8/],
  ['a schedule naming an unknown actor', ['replay', file('act.txt', SCEN + 'schedule\n  T9\n')], 2, /act\.txt:9: schedule names unknown actor 'T9'/],
  // flags
  ['an unknown policy', ['fuzz', '--policy', 'mshare-v4', '--out', out], 2, /unknown policy 'mshare-v4' \(did you mean 'mshare-v2'\?\)/],
  ['a bad flag', ['fuzz', '--policy', 'linux', '--frobnicate', '--out', out], 2, /--frobnicate/],
  ['--runs 0', ['fuzz', '--policy', 'linux', '--runs', '0', '--out', out], 2, /--runs must be a positive integer, got '0'/],
  ['--runs 1e9x', ['fuzz', '--policy', 'linux', '--runs', '1e9x', '--out', out], 2, /--runs must be a positive integer/],
  ['--time 0', ['fuzz', '--policy', 'linux', '--time', '0', '--out', out], 2, /--time must be at least 1ms, got '0'/],
  ['--runs with --time', ['fuzz', '--policy', 'linux', '--runs', '5', '--time', '1s', '--out', out], 2, /not both/],
  ['an unknown op in --ops', ['fuzz', '--policy', 'linux', '--ops', 'read,fly', '--out', out], 2, /unknown op 'fly' in --ops/],
  ['an mshare op for linux', ['fuzz', '--policy', 'linux', '--ops', 'attach', '--out', out], 2, /unknown op 'attach' in --ops for linux/],
  ['an unknown property', ['fuzz', '--policy', 'linux', '--property', 'no-freed-frame', '--out', out], 2, /unknown property 'no-freed-frame'/],
  ['--out naming a file', ['fuzz', '--policy', 'linux', '--runs', '1', '--out', aFile], 2, /--out .*not-a-dir: (not a directory|cannot create the directory \(EEXIST\))/],
  ['--out under /proc', ['fuzz', '--policy', 'linux', '--runs', '1', '--out', '/proc/self/cx'], 2, /--out \/proc\/self\/cx: cannot create the directory/],
  ['matrix --out naming a file', ['matrix', '--runs', '1', '--out', aFile], 2, /--out .*not-a-dir/],
  ['matrix --budget 0', ['matrix', '--budget', '0s'], 2, /--budget must be at least 1ms/],
  ['--format pdf', ['report', PLAIN, '--format', 'pdf'], 2, /unknown --format 'pdf' \(text, json or html\)/],
  ['report --out naming a directory', ['report', PLAIN, '--format', 'html', '--out', out], 2, /--out .*: is a directory/],
  ['report --out naming the counterexample', ['report', PLAIN, '--format', 'html', '--out', PLAIN], 2, /--out .*: is the counterexample itself/],
  ['report --out under a missing directory', ['report', PLAIN, '--format', 'html', '--out', join(out, 'no', 'such', 'r.html')], 2, /r\.html: cannot write the report \(ENOENT\)/],
  ['two files', ['replay', PLAIN, PLAIN], 2, /replay takes one FILE/],
  ['an unknown command', ['fuzzz'], 2, /unknown command 'fuzzz' \(did you mean 'fuzz'\?\)/],
  ['no command', [], 2, /missing command \(see mshare-check --help\)/],
  ['a control character in a flag', ['fuzz', '--policy', 'li\u001b[2Jnux'], 2, /unknown policy 'li\\x1b\[2Jnux'/],
];

describe('hostile input: exit status, one line, nothing saved changed', () => {
  const watched = [out, CORPUS, join(ROOT, 'variants'), join(ROOT, 'test/fixtures')];
  it('has at least 40 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(40));
  for (const [what, argv, code, msg] of CASES) {
    it(`rejects ${what}`, async () => {
      const before = snapshot(watched);
      const r = await cli(...argv);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^mshare-check: /);
      expect(r.err[0]).toMatch(msg);
      expect(r.err[0]).not.toMatch(/[\u0000-\u001f\u007f]/); // echoed input is escaped
      expect(r.code).toBe(code);
      expect(snapshot(watched)).toEqual(before);
      expect(existsSync(marker)).toBe(false); // no embedded code ran
    });
  }
});

describe('embedded variants', () => {
  it('run with --trust-variant from a temporary folder that is gone afterwards', async () => {
    const m = join(tmp(), 'ran');
    const src = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(m)}, import.meta.url);\n${REAL_VARIANT}`;
    const f = crafted('trusted.json', src);
    const r = await cli('replay', f, '--trust-variant');
    expect(r.err).toEqual([]);
    expect(r.out).toMatch(/^variant: free-before-flush \(variants\/free-before-flush\.ts\), sha256 [0-9a-f]{64}, \d+ bytes of TypeScript embedded in/);
    expect(r.out).toContain('verdict: same as saved');
    expect(r.code).toBe(1);
    const url = readFileSync(m, 'utf8');
    expect(url.startsWith(`file://${tmpdir()}/mshare-check-variant-`)).toBe(true);
    const tempDir = new URL('.', url).pathname;
    expect(existsSync(tempDir)).toBe(false);
    expect(readdirSync(join(ROOT, 'variants')).filter((x) => x.startsWith('.'))).toEqual([]);
  });

  it('end a hook that loops without yielding as a model error naming the variant (exit 3)', async () => {
    const src = `import { defineVariant } from '../model/policies/variant.js';\nexport default defineVariant({ name: 'spin', description: 'spins', edit: (v) => v.replace('tlb_gather_mmu', function* () { for (;;) {} }) });\n`;
    const r = await cli('replay', crafted('spin.json', src), '--trust-variant');
    expect(r.out).toMatch(/MODEL ERROR: VariantBudgetError: variant 'variants\/free-before-flush\.ts \(embedded\)' ran 1000000 loop iterations without reaching a scheduling point/);
    expect(r.out).toContain('verdict: CHANGED');
    expect(r.code).toBe(3);
  });

  it('run a local copy named with --variant when its hash matches', async () => {
    const r = await cli('replay', WITH_VARIANT, '--variant', join(ROOT, 'variants/free-before-flush.ts'));
    expect(r.out).toContain('variant: running your local copy');
    expect(r.code).toBe(1);
  });

  it('remove the temporary folder on SIGINT while the variant loads', async () => {
    const m = join(tmp(), 'loading');
    const src = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(m)}, import.meta.url);\nawait new Promise((r) => setTimeout(r, 60000));\n${REAL_VARIANT}`;
    const f = crafted('slow.json', src);
    const child = spawn(process.execPath, [join(ROOT, 'cli/bin.js'), 'replay', f, '--trust-variant'], { cwd: tmp(), stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    for (let i = 0; i < 600 && !existsSync(m); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(m)).toBe(true);
    const tempDir = new URL('.', readFileSync(m, 'utf8')).pathname;
    expect(statSync(tempDir).isDirectory()).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(existsSync(tempDir)).toBe(false);
  });
});

describe('no finding is lost', () => {
  it('saves under a new name when a different (0-byte) file has the content name, and says "already saved" only for an identical file', async () => {
    const o = tmp();
    const args = ['fuzz', '--policy', 'linux', '--variant', join(ROOT, 'variants/free-before-flush.ts'), '--runs', '50', '--seed', 'same', '--out', o];
    const first = await cli(...args);
    expect(first.code).toBe(1);
    const name = /saved: (.*\.json)/.exec(first.out)![1]!;
    const text = readFileSync(name, 'utf8');
    writeFileSync(name, ''); // a truncated file under the target name
    const again = await cli(...args);
    expect(again.out).toContain(`saved: ${name.replace(/\.json$/, '-2.json')} (${name} holds a different file, left alone)`);
    expect(readFileSync(name, 'utf8')).toBe('');
    expect(readFileSync(name.replace(/\.json$/, '-2.json'), 'utf8')).toBe(text);
    const third = await cli(...args);
    expect(third.out).toContain(`already saved: ${name.replace(/\.json$/, '-2.json')}`);
  });

  it('puts the counterexample on stderr when the save fails', async () => {
    const o = tmp();
    const args = ['fuzz', '--policy', 'linux', '--variant', join(ROOT, 'variants/free-before-flush.ts'), '--runs', '50', '--seed', 'same', '--out', o];
    const first = await cli(...args);
    const name = /saved: (.*\.json)/.exec(first.out)![1]!;
    // Every candidate name taken by a directory: the save cannot succeed.
    writeFileSync(name, 'x');
    for (let n = 2; n <= 100; n++) mkdirSync(name.replace(/\.json$/, `-${n}.json`));
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^mshare-check: could not save the counterexample in .*; it follows on stderr$/);
    expect(JSON.parse(r.err[1]!).format).toBe('mshare-check/counterexample');
  });
});

describe('help and version', () => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    it(`prints the usage for ${argv.join(' ')}`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: mshare-check <command>/);
      expect(r.out).toContain('--trust-variant');
    });
  }
  for (const cmd of ['policies', 'fuzz', 'replay', 'report', 'matrix']) {
    it(`prints the usage of ${cmd} for --help and -h`, async () => {
      for (const h of ['--help', '-h']) {
        const r = await cli(cmd, h);
        expect(r.code).toBe(0);
        expect(r.out.startsWith(`mshare-check ${cmd}`)).toBe(true);
      }
    });
  }
  it('prints the version', async () => {
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^mshare-check \d+\.\d+\.\d+ \(model \d+\.\d+\.\d+, counterexample format 1\)$/);
  });
});

describe('from any directory', () => {
  it("runs the README's replay command outside the repository", async () => {
    const cwd = tmp();
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((res) => {
        const c = spawn(process.execPath, [join(ROOT, 'cli/bin.js'), ...args], { cwd, env: { ...process.env, MSHARE_LOG: 'silent' } });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('exit', (code) => res({ code, out }));
      });
    const r = await run(['replay', PLAIN]);
    expect(r.out).toContain('verdict: same as saved');
    expect(r.code).toBe(1);
    const v = await run(['replay', WITH_VARIANT, '--variant', join(ROOT, 'variants/free-before-flush.ts')]);
    expect(v.out).toContain('verdict: same as saved');
    expect(v.code).toBe(1);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
