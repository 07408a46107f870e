// The checks file in npm test (issue 14 item 5): every check of
// checks.json at the repository root runs as `mshare-check check
// checks.json --check NAME` would, within its budget, on this thread. A
// new signature or a changed verdict fails the build, and the failure
// message is what the command prints: the saved counterexample and the
// `mshare-check report` command for it.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCheckFile } from '../campaigns/check_file.js';
import { main } from '../cli/main.js';
import { README } from '../cli/readme.js';

process.env.MSHARE_LOG = 'silent';
const FILE = 'checks.json';
const checks = parseCheckFile(FILE, readFileSync(FILE, 'utf8'));

/** The fenced block right after the README's `<!-- marker -->` line. */
function readmeBlock(marker: string): string[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const at = lines.indexOf(`<!-- ${marker} -->`);
  expect(at, marker).toBeGreaterThan(0);
  const end = lines.indexOf('```', at + 2);
  return lines.slice(at + 2, end);
}

describe('README, "Check your own patch"', () => {
  it(`quotes an entry of ${FILE} as it is`, () => {
    const quoted = JSON.parse(readmeBlock('an entry of checks.json (test/checks.test.ts)').join('\n')) as { name: string };
    const entries = (JSON.parse(readFileSync(FILE, 'utf8')) as { checks: { name: string }[] }).checks;
    expect(entries.find((c) => c.name === quoted.name)).toEqual(quoted);
  });

  it('quotes lines of test/package.test.ts as they are', () => {
    const test = readFileSync('test/package.test.ts', 'utf8').split('\n').map((l) => l.trim());
    const quoted = readmeBlock('lines of test/package.test.ts (test/checks.test.ts)');
    expect(quoted.length).toBeGreaterThan(3);
    for (const l of quoted) expect(test, l).toContain(l.trim());
  });
});

describe(`${FILE}: the verdicts the patches in this tree must keep`, () => {
  it('has checks', () => expect(checks.length).toBeGreaterThan(0));

  it.each(checks.map((c) => [c.name, c.runs]))('%s (%i runs)', async (name) => {
    const out: string[] = [];
    const code = await main(['check', FILE, '--check', name as string, '--jobs', '1'], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code, `\n${out.join('\n')}\n`).toBe(0);
  });
});
