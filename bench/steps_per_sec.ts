// Checked steps per second on `linux`, this tree against model 0.4.0, in
// one run (issue 13 item 2). Each measurement is a child process running
// a tree's own fuzz campaign (its generator draws the scenarios from the
// seed, its runner checks every property after every step) with the same
// seed and run count; the trees alternate, `--rounds` times each, so load
// from other processes on the machine falls on both. Without git, or
// without the 0.4.0 commit, it prints "0.4.0 baseline not available" and
// this tree's figure alone.
// Usage: npx tsx bench/steps_per_sec.ts [--runs N] [--rounds R] [--seed S]

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machine } from './machine.js';

/** Model 0.4.0: "A second exit while a group exit is under way just ends its thread". */
export const BASELINE_COMMIT = '7088761';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where each tree keeps its fuzz campaign (moved from properties/ to campaigns/ after 0.4.0). */
const fuzzModule = (tree: string) => [join(tree, 'campaigns/fuzz.ts'), join(tree, 'properties/fuzz.ts')].find((p) => existsSync(p))!;

/** A child process: `tree`'s fuzz over `runs` runs of seed `seed` on linux; prints `steps ms`. */
function measure(tree: string, seed: string, runs: number): { steps: number; ms: number } {
  const fuzzUrl = pathToFileURL(fuzzModule(tree)).href.replace(/\.ts$/, '.js');
  const linuxUrl = pathToFileURL(join(tree, 'model/policies/linux.ts')).href.replace(/\.ts$/, '.js');
  const code = [
    `const { fuzz } = await import(${JSON.stringify(fuzzUrl)});`,
    `const { linux } = await import(${JSON.stringify(linuxUrl)});`,
    // a short warm-up (JIT) on another seed, not counted
    `fuzz({ policy: linux, seed: 'warm-up', runs: ${Math.max(1, Math.floor(runs / 10))} });`,
    `const t = process.hrtime.bigint();`,
    `const r = fuzz({ policy: linux, seed: ${JSON.stringify(seed)}, runs: ${runs} });`,
    `const ms = Number(process.hrtime.bigint() - t) / 1e6;`,
    `if (r.finding) throw new Error('linux broke a property: ' + r.finding.signature);`,
    `console.log(r.steps + ' ' + ms);`,
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: tree, encoding: 'utf8', maxBuffer: 1 << 20 });
  const [steps, ms] = out.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { steps: steps!, ms: ms! };
}

/** A checkout of the 0.4.0 commit beside this repository (a detached git worktree), or null. */
export function baselineTree(dir?: string): string | null {
  try {
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const target = dir ?? join(tmpdir(), 'mshare-040');
    if (!existsSync(join(target, 'model/policies/linux.ts'))) {
      const d = dir ?? (existsSync(target) ? mkdtempSync(join(tmpdir(), 'mshare-040-')) : target);
      execFileSync('git', ['worktree', 'add', '--detach', d, BASELINE_COMMIT], { cwd: top, stdio: 'ignore' });
      return linkModules(d, top);
    }
    return linkModules(target, top);
  } catch {
    return null;
  }
}

function linkModules(tree: string, top: string): string {
  const nm = join(tree, 'node_modules');
  if (!existsSync(nm)) symlinkSync(resolve(join(top, 'node_modules')), nm);
  return tree;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Steps/s of this tree and of 0.4.0 (null when unavailable), medians over `rounds` alternating runs. */
export function stepsPerSec(opts: { runs: number; rounds: number; seed: string; log?: (line: string) => void }) {
  const log = opts.log ?? (() => {});
  const base = baselineTree();
  const now: number[] = [];
  const old: number[] = [];
  let steps = { now: 0, old: 0 };
  for (let i = 0; i < opts.rounds; i++) {
    const a = measure(here, opts.seed, opts.runs);
    now.push((a.steps * 1000) / a.ms);
    steps.now = a.steps;
    log(`round ${i + 1}: this tree ${Math.round(now.at(-1)!)} steps/s (${a.steps} steps, ${Math.round(a.ms)} ms)`);
    if (!base) continue;
    try {
      const b = measure(base, opts.seed, opts.runs);
      old.push((b.steps * 1000) / b.ms);
      steps.old = b.steps;
      log(`round ${i + 1}: 0.4.0     ${Math.round(old.at(-1)!)} steps/s (${b.steps} steps, ${Math.round(b.ms)} ms)`);
    } catch {
      break;
    }
  }
  const cur = median(now);
  const ref = old.length === opts.rounds ? median(old) : null;
  return { current: cur, baseline: ref, ratio: ref ? cur / ref : null, steps, samples: { now, old } };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, rounds: { type: 'string' }, seed: { type: 'string' } } });
  const runs = Number(values.runs ?? 2000);
  const rounds = Number(values.rounds ?? 3);
  const seed = values.seed ?? 'bench';
  console.log(`machine: ${machine()}\n`);
  const r = stepsPerSec({ runs, rounds, seed, log: (l) => console.log(l) });
  console.log(`\n## checked steps/s, linux, ${runs} runs (seed "${seed}"), median of ${rounds} alternating child processes\n`);
  console.log(`| model | checked steps/s | steps |`);
  console.log(`|---|---|---|`);
  console.log(`| this tree | ${Math.round(r.current)} | ${r.steps.now} |`);
  if (r.baseline === null) console.log('\n0.4.0 baseline not available');
  else console.log(`| 0.4.0 (${BASELINE_COMMIT}) | ${Math.round(r.baseline)} | ${r.steps.old} |\n\nratio: ${r.ratio!.toFixed(2)}x`);
}
