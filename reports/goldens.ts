// The golden reports: one text file in reports/__snapshots__/ for each
// saved counterexample in counterexamples/. report.test.ts compares the
// rendered report with its golden and fails when the golden is missing;
// nothing in the test suite writes one. They are rewritten only on
// purpose, by `npm run goldens`, which prints what changed so that the
// diff can be read before it is committed.

import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCounterexample } from './counterexample.js';
import { renderText } from './render_text.js';
import { buildReport, policyFor } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CORPUS_DIR = join(ROOT, 'counterexamples');
export const GOLDEN_DIR = join(ROOT, 'reports', '__snapshots__');

/** The saved counterexamples, by file name, sorted. */
export const corpusFiles = () => readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.json')).sort();
/** The golden files present, by file name, sorted. */
export const goldenFiles = () => readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.txt')).sort();
export const goldenName = (corpusFile: string) => corpusFile.replace(/\.json$/, '.txt');
export const goldenPath = (corpusFile: string) => join(GOLDEN_DIR, goldenName(corpusFile));

/** The golden's text, or null when there is none. */
export function readGolden(corpusFile: string): string | null {
  const p = goldenPath(corpusFile);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** The text report of a saved counterexample, as the golden pins it (the path as the repository names it). */
export async function renderCorpusReport(corpusFile: string): Promise<string> {
  const path = `counterexamples/${corpusFile}`;
  const cx = loadCounterexample(join(CORPUS_DIR, corpusFile));
  return renderText(buildReport(cx, path, await policyFor(cx)));
}

/** Lines removed (-) and added (+) from `a` to `b`, by longest common subsequence, each run headed by its line in `b`. */
export function lineDiff(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const lcs = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let inRun = false;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { i++; j++; inRun = false; continue; }
    if (!inRun) out.push(`@@ line ${j + 1}`);
    inRun = true;
    if (i < x.length && (j === y.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`-${x[i++]}`);
    else out.push(`+${y[j++]}`);
  }
  return out;
}

export type GoldenChange = { file: string; status: 'unchanged' | 'changed' | 'new' | 'removed'; diff: string[] };

/** Rewrite every golden from the current model; remove goldens of counterexamples that are gone. */
export async function writeGoldens(): Promise<GoldenChange[]> {
  const out: GoldenChange[] = [];
  const corpus = corpusFiles();
  for (const f of corpus) {
    const text = await renderCorpusReport(f);
    const old = readGolden(f);
    if (old === text) { out.push({ file: goldenName(f), status: 'unchanged', diff: [] }); continue; }
    writeFileSync(goldenPath(f), text);
    out.push({ file: goldenName(f), status: old === null ? 'new' : 'changed', diff: old === null ? [] : lineDiff(old, text) });
  }
  const wanted = new Set(corpus.map(goldenName));
  for (const g of goldenFiles()) {
    if (wanted.has(g)) continue;
    unlinkSync(join(GOLDEN_DIR, g));
    out.push({ file: g, status: 'removed', diff: [] });
  }
  return out;
}

async function main() {
  const changes = await writeGoldens();
  const dir = relative(process.cwd(), GOLDEN_DIR) || '.';
  for (const c of changes.filter((x) => x.status !== 'unchanged')) {
    console.log(`${c.status} ${join(dir, c.file)}`);
    for (const l of c.diff) console.log(`  ${l}`);
  }
  const n = (s: GoldenChange['status']) => changes.filter((c) => c.status === s).length;
  console.log(`goldens: ${n('changed')} changed, ${n('new')} new, ${n('removed')} removed, ${n('unchanged')} unchanged`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
