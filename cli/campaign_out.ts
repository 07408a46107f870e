// What a fuzz campaign prints and writes (issue 14): each finding as it
// is saved, then the summary with every distinct signature and its count;
// the signatures already known (--skip-known); and the shard manifest
// that `merge` adds up into the summary of the campaign run on one machine.

import { KNOB_VALUES } from '../model/kernel/mshare/knobs.js';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CampaignResult, Shrunk, SignatureCount } from '../campaigns/campaign.js';
import type { Coverage } from '../model/run/coverage.js';
import { COVERAGE_COUNTERS } from '../model/run/coverage.js';
import { canonicalJson } from '../model/kernel/serialize.js';
import { MODEL_VERSION } from '../model/version.js';
import { loadCounterexample, type CounterexampleFile, type Saved } from '../reports/counterexample.js';
import { printable, UsageError } from './errors.js';
import { readInputFile } from './input.js';

import type { Io } from './out_dir.js';

/** What identifies a fuzz campaign: two runs (or shards) with equal identities run the same runs. */
export interface CampaignIdentity {
  policy: string;
  /** The variant's name and hash, and the --variant argument as given (for the replay line). */
  variant: { name: string; sha256: string; arg: string; edits?: string[] } | null;
  properties: string[] | null;
  ops: string[];
  seed: string;
  runs: number;
  skip: string[];
}

export interface Header {
  /** The policy as shown (policy+variant). */
  shown: string;
  seed: string;
  ops: string[];
  coverageLines: (c: Coverage) => string[];
  variantArg: string | null;
  /** The variant's edits as written (PathTable.edits), to name those no run executed. */
  edits?: readonly string[];
}

/** One finding, as soon as it is shrunk: the lines the CLI printed for its single finding before issue 14. */
export function printFinding(io: Io, f: { index: number; signature: string; originalOps: number; ops: number; steps: number; cx: CounterexampleFile }, save: () => Saved | null, variantArg: string | null, dependsOn: readonly string[] = []): Saved | null {
  const v = f.cx.verdict;
  io.out(v.result === 'model-error' ? `found: MODEL ERROR in run ${f.index}: ${v.message}` : `found: VIOLATION ${v.property} in run ${f.index} at step ${v.step} (${v.actor}: ${v.stepId})`);
  if (v.result === 'violation') io.out(`  ${v.message}`);
  // issue 10: a finding that another value of an uncited knob loses is not one of the design
  if (dependsOn.length) io.out(`  depends on ${dependsOn.join(', ')}: not cited from a patch or talk, and another value of it loses this finding`);
  io.out(`  signature ${f.signature}; shrunk from ${f.originalOps} to ${f.ops} operations, ${f.steps} steps`);
  const saved = save();
  if (saved) io.out(`replay: npx mshare-check replay ${saved.path}${variantArg ? ` --variant ${variantArg}` : ''}`);
  return saved;
}

const plural = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;

export interface Totals {
  runs: number;
  steps: number;
  coverage: Coverage;
  /** Under a variant: the numbers of its edits some run executed (CampaignResult.editsRun). */
  editsRun?: number[];
  signatures: SignatureCount[];
}

/** The summary: header line, coverage, every distinct signature with its count, result line. */
export function printSummary(io: Io, h: Header, t: Totals, extra: { shard?: string; interrupted?: boolean; unshrunk?: CampaignResult['unshrunk'] } = {}): void {
  io.out(`fuzz: policy ${h.shown}, seed "${h.seed}", ${extra.shard ? `${extra.shard}, ` : ''}${t.runs} runs, ${t.steps} steps, ops ${h.ops.join(',')}`);
  io.out('coverage:');
  for (const l of h.coverageLines(t.coverage)) io.out(l);
  if (h.edits && t.editsRun) for (const l of editLines(h.edits, t.editsRun, t.runs)) io.out(l);
  const fresh = t.signatures.filter((s) => !s.skipped);
  const known = t.signatures.filter((s) => s.skipped);
  if (t.signatures.length > 0) {
    io.out(`signatures (${plural(t.signatures.length, 'distinct signature')} in ${t.signatures.reduce((n, s) => n + s.count, 0)} of ${t.runs} runs):`);
    const w = Math.max(...t.signatures.map((s) => s.signature.length));
    const unshrunk = new Set(extra.unshrunk?.map((u) => u.signature));
    for (const s of t.signatures) {
      const note = s.skipped ? ', known: skipped' : unshrunk.has(s.signature) ? ', not shrunk (interrupted)' : '';
      io.out(`  ${printable(s.signature).padEnd(w)}  ${plural(s.count, 'run')}, first run ${s.first.index}${note}`);
    }
  }
  const skipped = known.length ? `; ${plural(known.length, 'known signature')} skipped` : '';
  if (extra.interrupted) io.out(`result: interrupted after ${t.runs} runs (SIGINT); ${plural(fresh.length, 'new signature')}${skipped}`);
  else if (t.signatures.length === 0) io.out(`result: no violation in ${t.runs} runs`);
  else if (fresh.length === 0) io.out(`result: no new violation in ${t.runs} runs${skipped}`);
  else io.out(`result: ${plural(fresh.length, 'new signature')} in ${t.runs} runs${skipped}`);
}

/**
 * A variant's edits that no run executed (issue 14): a patch whose change
 * never ran was not tested by the campaign, whatever its result says.
 */
export function editLines(edits: readonly string[], run: readonly number[], runs: number): string[] {
  if (edits.length === 0) return [];
  const done = new Set(run);
  const never = edits.filter((_, i) => !done.has(i));
  if (never.length === 0) return [`variant edits: all ${edits.length} executed`];
  return [`variant edits never executed in ${runs} runs (this campaign did not test them):`, ...never.map((e) => `  ${printable(e)}`)];
}

/** 130 when interrupted, else 3 for a new model error, 1 for a new violation, 0 for none. */
export function exitStatus(t: Totals, interrupted = false): number {
  if (interrupted) return 130;
  const fresh = t.signatures.filter((s) => !s.skipped);
  if (fresh.some((s) => s.signature.startsWith('model-error|'))) return 3;
  return fresh.length > 0 ? 1 : 0;
}

/**
 * Signatures already in the corpus for this campaign: saved counterexamples
 * (.json) in `dirs` of the same base policy, found without a variant (the
 * policy's own findings, which its variants inherit) or with a variant of
 * the same name. Files that are not counterexamples are passed over, with
 * a note.
 */
export function knownSignatures(dirs: string[], policy: string, variant: string | null, note: (l: string) => void): string[] {
  const out = new Set<string>();
  for (const dir of [...new Set(dirs)]) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    } catch {
      continue; // no corpus there (yet)
    }
    for (const f of names) {
      let cx: CounterexampleFile;
      try {
        cx = loadCounterexample(join(dir, f), readInputFile(join(dir, f)));
      } catch (e) {
        note(`mshare-check: --skip-known: ${printable((e as Error).message.split('\n')[0]!)} (passed over)`);
        continue;
      }
      if (cx.policy === policy && (cx.variant === null || cx.variant.name === variant)) out.add(cx.signature);
    }
  }
  return [...out].sort();
}

// ---- shards (--shard K/N) and merge ----

export const SHARD_FORMAT = 'mshare-check/shard';

/** Shard K of N runs [lo, hi): N contiguous slices of the run indices. */
export function shardRange(k: number, n: number, runs: number): { lo: number; hi: number } {
  return { lo: Math.floor(((k - 1) * runs) / n), hi: Math.floor((k * runs) / n) };
}

export const manifestName = (k: number, n: number) => `shard-${k}-of-${n}.mshare-campaign`;
const MANIFEST = /^shard-(\d+)-of-(\d+)\.mshare-campaign$/;

export interface ShardFinding {
  index: number;
  signature: string;
  /** The file's name in the shard's out dir; null when it could not be saved. */
  file: string | null;
  originalOps: number;
  ops: number;
  steps: number;
  /** The uncited knobs the finding depends on (reports/depends_on.ts), as the shard printed them. */
  dependsOn: string[];
}

export interface Manifest {
  format: typeof SHARD_FORMAT;
  modelVersion: string;
  campaign: CampaignIdentity;
  shard: { k: number; n: number };
  totals: Totals;
  findings: ShardFinding[];
}

/** Written once the shard's runs are all done (an interrupted shard writes none), atomically. */
export function writeManifest(dir: string, m: Manifest): string {
  const path = join(dir, manifestName(m.shard.k, m.shard.n));
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n', { flag: 'w' });
  renameSync(tmp, path);
  return path;
}

export function shardFinding(f: Shrunk, saved: Saved | null, dependsOn: readonly string[]): ShardFinding {
  return { index: f.index, signature: f.signature, file: saved ? saved.path.split(/[\\/]/).pop()! : null, originalOps: f.originalOps, ops: f.ops, steps: f.steps, dependsOn: [...dependsOn] };
}

const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
const str = (x: unknown) => typeof x === 'string' && x.length <= 4096;

/** What is wrong with a parsed manifest's shape (it comes from another machine), or null. */
function manifestProblem(m: Manifest): string | null {
  const c = m.campaign;
  if (!c || typeof c !== 'object' || !str(c.policy) || !str(c.seed) || !count(c.runs) || !Array.isArray(c.ops) || !Array.isArray(c.skip)) return 'campaign';
  if (c.variant && c.variant.edits !== undefined && (!Array.isArray(c.variant.edits) || !c.variant.edits.every(str))) return 'campaign.variant.edits';
  if (!m.shard || !count(m.shard.k) || !count(m.shard.n) || m.shard.k < 1 || m.shard.k > m.shard.n) return 'shard';
  const t = m.totals;
  if (!t || !count(t.runs) || !count(t.steps) || typeof t.coverage !== 'object' || t.coverage === null || !Object.values(t.coverage).every(count)) return 'totals';
  if (t.editsRun !== undefined && (!Array.isArray(t.editsRun) || !t.editsRun.every(count))) return 'totals.editsRun';
  if (!Array.isArray(t.signatures) || !t.signatures.every((x) => x && str(x.signature) && count(x.count) && x.first && count(x.first.index) && count(x.first.runSeed) && typeof x.skipped === 'boolean')) return 'totals.signatures';
  if (!Array.isArray(m.findings) || !m.findings.every((f) => f && count(f.index) && str(f.signature) && (f.file === null || (str(f.file) && /^[A-Za-z0-9_.+@-]+\.json$/.test(f.file))) && count(f.originalOps) && count(f.ops) && count(f.steps) && Array.isArray(f.dependsOn) && f.dependsOn.every((k: unknown) => typeof k === 'string' && k in KNOB_VALUES))) return 'findings (a file must be a plain .json name in the shard\'s folder)';
  return null;
}

/** The manifests in `dirs`, checked to be the N slices of one campaign of this model. */
export function readShards(dirs: string[]): { dir: string; m: Manifest }[] {
  const found: { dir: string; m: Manifest }[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      throw new UsageError(`${dir}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const here = names.filter((f) => MANIFEST.test(f)).sort();
    if (here.length === 0) throw new UsageError(`${dir}: no shard manifest (shard-K-of-N.mshare-campaign) there: was the shard interrupted or not run with --shard?`);
    for (const f of here) {
      const file = join(dir, f);
      let m: Manifest;
      try {
        m = JSON.parse(readInputFile(file)) as Manifest;
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`${file}:1: malformed shard manifest (${(e as Error).message.split('\n')[0]})`);
      }
      if (m?.format !== SHARD_FORMAT) throw new UsageError(`${file}:1: not a shard manifest (format must be "${SHARD_FORMAT}")`);
      const problem = manifestProblem(m);
      if (problem) throw new UsageError(`${file}:1: bad shard manifest: ${problem}`);
      if (m.modelVersion !== MODEL_VERSION) throw new UsageError(`${file}:1: from model ${printable(String(m.modelVersion))}, this is ${MODEL_VERSION}: rerun the shard`);
      found.push({ dir, m });
    }
  }
  const first = found[0]!;
  const n = first.m.shard.n;
  for (const s of found) {
    if (canonicalJson(s.m.campaign) !== canonicalJson(first.m.campaign)) throw new UsageError(`${join(s.dir, manifestName(s.m.shard.k, s.m.shard.n))}: a different campaign from ${join(first.dir, manifestName(first.m.shard.k, n))} (policy, variant, seed, runs, ops, properties or skipped signatures differ)`);
    if (s.m.shard.n !== n) throw new UsageError(`${s.dir}: shard ${s.m.shard.k}/${s.m.shard.n} does not belong with shard ${first.m.shard.k}/${n}`);
  }
  const ks = found.map((s) => s.m.shard.k).sort((a, b) => a - b);
  const dup = ks.find((k, i) => ks[i - 1] === k);
  if (dup !== undefined) throw new UsageError(`shard ${dup}/${n} given twice`);
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !ks.includes(k));
  if (missing.length) throw new UsageError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${n}`).join(', ')} of the campaign`);
  return found.sort((a, b) => a.m.shard.k - b.m.shard.k);
}

/** The shards' totals added up: equal to the campaign's on one machine (sums, and the lowest first run per signature). */
export function mergeTotals(ms: Manifest[]): Totals {
  const coverage = Object.fromEntries(COVERAGE_COUNTERS.map((c) => [c, ms.reduce((n, m) => n + (m.totals.coverage[c] ?? 0), 0)])) as Coverage;
  const sigs = new Map<string, SignatureCount>();
  for (const m of ms) {
    for (const s of m.totals.signatures) {
      const had = sigs.get(s.signature);
      if (!had) sigs.set(s.signature, { ...s, first: { ...s.first } });
      else {
        had.count += s.count;
        if (s.first.index < had.first.index) had.first = { ...s.first };
      }
    }
  }
  const edits = ms.every((m) => m.totals.editsRun) ? { editsRun: [...new Set(ms.flatMap((m) => m.totals.editsRun!))].sort((a, b) => a - b) } : {};
  return {
    runs: ms.reduce((n, m) => n + m.totals.runs, 0),
    steps: ms.reduce((n, m) => n + m.totals.steps, 0),
    coverage,
    ...edits,
    signatures: [...sigs.values()].sort((a, b) => a.first.index - b.first.index),
  };
}
