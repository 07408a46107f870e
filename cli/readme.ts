// The README's quoted command outputs, produced by real runs (issue 8:
// docs that cannot go stale). A quoted block is a fenced block whose first
// line is "$ npx mshare-check ARGS"; the rest of the block is what that
// command prints on stdout. `npm run readme` rewrites every such block from
// the current model; test/readme.test.ts fails while one differs.
//
// Commands run in-process from the project root with the log silenced.
// An --out under /tmp is replaced by a fresh temporary folder and mapped
// back in the output, so a run never finds an earlier run's files.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';

export const README = fileURLToPath(new URL('../README.md', import.meta.url));
const PROMPT = '$ npx mshare-check ';

export interface QuotedBlock {
  /** Line index of the "$ npx mshare-check" line and of the closing fence. */
  command: number;
  end: number;
  args: string[];
  output: string[];
}

export function quotedBlocks(text: string): QuotedBlock[] {
  const lines = text.split('\n');
  const blocks: QuotedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```' || !lines[i + 1]?.startsWith(PROMPT)) continue;
    const end = lines.indexOf('```', i + 2);
    if (end < 0) throw new Error(`README line ${i + 1}: unclosed block`);
    blocks.push({ command: i + 1, end, args: lines[i + 1]!.slice(PROMPT.length).trim().split(/\s+/), output: lines.slice(i + 2, end) });
    i = end;
  }
  return blocks;
}

/** What the command prints now (stdout lines), with its exit status. */
export async function runQuoted(args: string[]): Promise<{ output: string[]; code: number }> {
  const tmp = mkdtempSync(join(tmpdir(), 'mshare-check-readme-'));
  const outs = new Map<string, string>();
  const argv = args.map((a, i) => {
    if (args[i - 1] !== '--out' || !a.startsWith('/tmp/')) return a;
    const fresh = join(tmp, String(outs.size));
    outs.set(fresh, a);
    return fresh;
  });
  const out: string[] = [];
  const level = process.env.MSHARE_LOG;
  process.env.MSHARE_LOG = 'silent';
  try {
    const code = await main(argv, { out: (l) => out.push(...l.split('\n')), err: () => {} });
    let text = out.join('\n');
    for (const [fresh, shown] of outs) text = text.replaceAll(fresh, shown);
    return { output: text.split('\n'), code };
  } finally {
    if (level === undefined) delete process.env.MSHARE_LOG;
    else process.env.MSHARE_LOG = level;
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The README with every quoted block's output replaced by a fresh run's. */
export async function regenerate(text: string): Promise<string> {
  const lines = text.split('\n');
  // From the last block up, so earlier line indices stay valid.
  for (const b of quotedBlocks(text).reverse()) {
    const { output } = await runQuoted(b.args);
    lines.splice(b.command + 1, b.end - b.command - 1, ...output);
  }
  return lines.join('\n');
}


/** The quoted blocks whose output differs from a run now (1-based line of the command). */
export async function staleBlocks(text: string, only: (b: QuotedBlock) => boolean = () => true): Promise<{ line: number; command: string }[]> {
  const stale: { line: number; command: string }[] = [];
  for (const b of quotedBlocks(text).filter(only)) {
    const { output } = await runQuoted(b.args);
    if (output.join('\n') !== b.output.join('\n')) stale.push({ line: b.command + 1, command: b.args.join(' ') });
  }
  return stale;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const before = readFileSync(README, 'utf8');
  const after = await regenerate(before);
  writeFileSync(README, after);
  console.log(before === after ? 'README.md: every quoted output is current' : 'README.md: quoted outputs rewritten; review `git diff README.md`');
}
