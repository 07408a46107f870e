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

process.env.MSHARE_LOG = 'silent';
const FILE = 'checks.json';
const checks = parseCheckFile(FILE, readFileSync(FILE, 'utf8'));

describe(`${FILE}: the verdicts the patches in this tree must keep`, () => {
  it('has checks', () => expect(checks.length).toBeGreaterThan(0));

  it.each(checks.map((c) => [c.name, c.runs]))('%s (%i runs)', async (name) => {
    const out: string[] = [];
    const code = await main(['check', FILE, '--check', name as string, '--jobs', '1'], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code, `\n${out.join('\n')}\n`).toBe(0);
  });
});
