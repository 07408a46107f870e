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
import { existsSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
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

/** One child process's figures: steps checked, wall-clock and CPU milliseconds of the measured campaign. */
interface Sample {
  steps: number;
  ms: number;
  cpuMs: number;
}

/** A child process: `tree`'s fuzz over `runs` runs of seed `seed` on linux; prints `steps ms cpuMs`. */
function measure(tree: string, seed: string, runs: number): Sample {
  const fuzzUrl = pathToFileURL(fuzzModule(tree)).href.replace(/\.ts$/, '.js');
  const linuxUrl = pathToFileURL(join(tree, 'model/policies/linux.ts')).href.replace(/\.ts$/, '.js');
  const code = [
    `const { fuzz } = await import(${JSON.stringify(fuzzUrl)});`,
    `const { linux } = await import(${JSON.stringify(linuxUrl)});`,
    // a short warm-up (JIT) on another seed, not counted
    `fuzz({ policy: linux, seed: 'warm-up', runs: ${Math.max(1, Math.floor(runs / 10))} });`,
    `const t = process.hrtime.bigint();`,
    `const c0 = process.cpuUsage();`,
    `const r = fuzz({ policy: linux, seed: ${JSON.stringify(seed)}, runs: ${runs} });`,
    `const ms = Number(process.hrtime.bigint() - t) / 1e6;`,
    `const c = process.cpuUsage(c0);`,
    `if (r.finding) throw new Error('linux broke a property: ' + r.finding.signature);`,
    `console.log(r.steps + ' ' + ms + ' ' + (c.user + c.system) / 1000);`,
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: tree, encoding: 'utf8', maxBuffer: 1 << 20 });
  const [steps, ms, cpuMs] = out.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { steps: steps!, ms: ms!, cpuMs: cpuMs! };
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
  if (!existsSync(nm)) symlinkSync(realpathSync(join(top, 'node_modules')), nm);
  return tree;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Checked steps per wall-clock and per CPU second: medians over the rounds. */
export interface Rate {
  wall: number;
  cpu: number;
  steps: number;
}

export interface StepsPerSec {
  current: Rate;
  /** null: 0.4.0 baseline not available. */
  baseline: Rate | null;
  ratio: { wall: number; cpu: number } | null;
}

const rate = (xs: Sample[]): Rate => ({ wall: median(xs.map((x) => (x.steps * 1000) / x.ms)), cpu: median(xs.map((x) => (x.steps * 1000) / x.cpuMs)), steps: xs[0]!.steps });

/**
 * Steps/s of this tree and of 0.4.0, `rounds` child processes each,
 * alternating. Wall-clock is what a user waits; CPU time is less moved by
 * other processes on a shared machine: both are reported.
 */
export function stepsPerSec(opts: { runs: number; rounds: number; seed: string; log?: (line: string) => void }): StepsPerSec {
  const log = opts.log ?? (() => {});
  const base = baselineTree();
  const now: Sample[] = [];
  const old: Sample[] = [];
  const line = (who: string, x: Sample) => `${who}: ${Math.round((x.steps * 1000) / x.ms)} steps/s wall, ${Math.round((x.steps * 1000) / x.cpuMs)} per CPU s (${x.steps} steps, ${Math.round(x.ms)} ms)`;
  for (let i = 0; i < opts.rounds; i++) {
    now.push(measure(here, opts.seed, opts.runs));
    log(line(`round ${i + 1}, this tree`, now.at(-1)!));
    if (!base) continue;
    try {
      old.push(measure(base, opts.seed, opts.runs));
      log(line(`round ${i + 1}, 0.4.0    `, old.at(-1)!));
    } catch {
      old.length = 0;
      break;
    }
  }
  const current = rate(now);
  const baseline = old.length === opts.rounds ? rate(old) : null;
  return { current, baseline, ratio: baseline ? { wall: current.wall / baseline.wall, cpu: current.cpu / baseline.cpu } : null };
}

/** The Markdown table of a measurement, as npm run bench prints it. */
export function stepsTable(r: StepsPerSec, runs: number, rounds: number, seed: string): string {
  const out = [`## checked steps/s against model 0.4.0 (linux, ${runs} runs, seed "${seed}", median of ${rounds} child processes each, alternating)\n`];
  out.push('| model | checked steps/s (wall) | per CPU second | steps |');
  out.push('|---|---|---|---|');
  out.push(`| this tree | ${Math.round(r.current.wall)} | ${Math.round(r.current.cpu)} | ${r.current.steps} |`);
  if (!r.baseline || !r.ratio) return [...out, '', '0.4.0 baseline not available'].join('\n');
  out.push(`| 0.4.0 (${BASELINE_COMMIT}) | ${Math.round(r.baseline.wall)} | ${Math.round(r.baseline.cpu)} | ${r.baseline.steps} |`);
  out.push(`| ratio | ${r.ratio.wall.toFixed(2)}x | ${r.ratio.cpu.toFixed(2)}x | |`);
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, rounds: { type: 'string' }, seed: { type: 'string' } } });
  const runs = Number(values.runs ?? 2000);
  const rounds = Number(values.rounds ?? 3);
  const seed = values.seed ?? 'bench';
  console.log(`machine: ${machine()}\n`);
  const r = stepsPerSec({ runs, rounds, seed, log: (l) => console.log(l) });
  console.log(`\n${stepsTable(r, runs, rounds, seed)}`);
}
