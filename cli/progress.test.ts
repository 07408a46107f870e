// The progress line: what it says, redrawn in place on a terminal, and
// nothing at all without one.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { progressText, ProgressLine } from './progress.js';

process.env.MSHARE_LOG = 'silent';

describe('progress line', () => {
  it('shows runs, rate, ETA, findings and the shrink under way', () => {
    const p = { done: 1250, total: 20000, findings: 2, shrinking: { index: 345, runSeed: 1, signature: 'unmap-complete|TLB|sys_munmap' } };
    expect(progressText(p, 2500)).toBe('runs 1,250/20,000 (6%), 500 runs/s, ETA 0:38, 2 findings, shrinking unmap-complete|TLB|sys_munmap (run 345)');
    expect(progressText({ done: 10, total: null, findings: 1, shrinking: null }, 1000, 61_000)).toBe('runs 10, 10 runs/s, ETA 1:00, 1 finding');
  });

  it('redraws in place at most ten times a second, clears before other output, and stays quiet without a terminal', () => {
    let t = 0;
    const written: string[] = [];
    const line = new ProgressLine({ write: (s) => void written.push(s), columns: 40 }, 'fuzz linux', undefined, () => t);
    const p = { done: 1, total: 10, findings: 0, shrinking: null };
    line.update(p);
    t = 50;
    line.update({ ...p, done: 2 }); // too soon
    t = 200;
    line.update({ ...p, done: 3 });
    expect(written).toHaveLength(2);
    expect(written[0]!.startsWith('\r\x1b[Kfuzz linux: runs 1/10 (10%)')).toBe(true);
    expect(written.every((w) => w.length <= 39 + 4)).toBe(true); // cut to the terminal's width
    line.clear();
    expect(written.at(-1)).toBe('\r\x1b[K');
    const quiet = new ProgressLine(undefined, 'fuzz linux');
    quiet.update(p);
    quiet.clear(); // nothing to write to, nothing written
  });

  it('is drawn on the terminal by a campaign, and never on stdout', async () => {
    const tty: string[] = [];
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['fuzz', '--policy', 'linux', '--runs', '200', '--seed', 'progress', '--jobs', '1', '--out', mkdtempSync(join(tmpdir(), 'mshare-check-progress-'))], { out: (l) => out.push(l), err: (l) => err.push(l), tty: { write: (s) => void tty.push(s) } });
    expect(code).toBe(0);
    expect(tty.join('')).toMatch(/fuzz linux: runs \d+\/200 \(\d+%\), \d+ runs\/s, ETA \d+:\d\d, 0 findings/);
    expect(out.join('\n')).not.toContain('runs/s');
    expect(err).toEqual([]);
  });
});
