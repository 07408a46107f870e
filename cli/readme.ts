// The README's quoted command outputs, produced by real runs (issue 8:
// docs that cannot go stale). A quoted block is a fenced block whose first
// line is "$ npx mshare-check ARGS"; the rest of the block is what that
// command prints on stdout. `npm run readme` rewrites every such block from
// the current model; test/readme.test.ts fails while one differs.
//
// Commands run in-process from the project root with the log silenced.
// An --out under /tmp is replaced by a fresh temporary folder and mapped
// back in the output, so a run never finds an earlier run's files.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const RECORDED = /^<!-- recorded in (docs\/campaigns\/[a-z0-9-]+\.txt) -->$/;

function blocks(text: string): (QuotedBlock & { recorded: string | null })[] {
  const lines = text.split('\n');
  const out: (QuotedBlock & { recorded: string | null })[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```' || !lines[i + 1]?.startsWith(PROMPT)) continue;
    const end = lines.indexOf('```', i + 2);
    if (end < 0) throw new Error(`README line ${i + 1}: unclosed block`);
    const recorded = RECORDED.exec(lines[i - 1] ?? '')?.[1] ?? null;
    out.push({ command: i + 1, end, args: lines[i + 1]!.slice(PROMPT.length).trim().split(/\s+/), output: lines.slice(i + 2, end), recorded });
    i = end;
  }
  return out;
}

/** Blocks that a run now reproduces (every quoted block but the recorded ones). */
export function quotedBlocks(text: string): QuotedBlock[] {
  return blocks(text).filter((b) => b.recorded === null);
}

/**
 * Blocks that quote a recorded campaign (bench/campaign.ts): too long to
 * run in npm test, so the README copies the record, and the record says
 * which model made it.
 */
export function recordedBlocks(text: string): (QuotedBlock & { recorded: string })[] {
  return blocks(text).filter((b): b is QuotedBlock & { recorded: string } => b.recorded !== null);
}

/** A record: the command it ran, the model version, and the printed lines below its `# ` header. */
export function readRecord(file: string): { command: string; model: string; output: string[] } {
  const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
  const field = (name: string) => lines.find((l) => l.startsWith(`# ${name}: `))?.slice(name.length + 4) ?? '';
  return { command: field('command'), model: field('model'), output: lines.filter((l) => !l.startsWith('# ')) };
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
  for (const b of blocks(text).reverse()) {
    const output = b.recorded !== null ? readRecord(b.recorded).output : (await runQuoted(b.args)).output;
    lines.splice(b.command + 1, b.end - b.command - 1, ...output);
  }
  return lines.join('\n');
}

/** Recorded blocks that differ from their record, or whose record is from another command or model version. */
export function staleRecords(text: string, version: string): { line: number; problem: string }[] {
  const out: { line: number; problem: string }[] = [];
  for (const b of recordedBlocks(text)) {
    const line = b.command + 1;
    if (!existsSync(b.recorded)) {
      out.push({ line, problem: `${b.recorded} is missing` });
      continue;
    }
    const r = readRecord(b.recorded);
    if (r.command !== `npx mshare-check ${b.args.join(' ')}`) out.push({ line, problem: `${b.recorded} ran '${r.command}'` });
    if (r.model !== version) out.push({ line, problem: `${b.recorded} is from model ${r.model}, not ${version}: rerun bench/campaign.ts` });
    if (r.output.join('\n') !== b.output.join('\n')) out.push({ line, problem: `the block differs from ${b.recorded}: run npm run readme` });
  }
  return out;
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
