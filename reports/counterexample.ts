// The versioned JSON counterexample file (SPEC 7): complete, replayable,
// named by a hash of what it replays, written atomically and never over
// an existing file.

import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../model/kernel/serialize.js';
import type { RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { sha256, type LoadedVariant } from '../model/policies/load_variant.js';
import { MODEL_VERSION } from '../model/version.js';
import type { Property } from '../properties/property.js';

export const FORMAT = 'mshare-check/counterexample';
export const FORMAT_VERSION = 1;

export interface Verdict {
  result: 'pass' | 'violation' | 'model-error';
  property: string | null;
  holder: string | null;
  actor: string | null;
  step: number | null;
  stepId: string | null;
  message: string | null;
}

export interface CounterexampleFile {
  format: typeof FORMAT;
  version: number;
  modelVersion: string;
  policy: string;
  variant: { name: string; file: string; sha256: string; source: string } | null;
  campaign: { seed: string; runIndex: number; runSeed: number; ops: string[] } | null;
  signature: string;
  /** The properties the run was checked against (the matrix checks one at a time); null for all. */
  properties: string[] | null;
  verdict: Verdict;
  scenario: Scenario;
  /** The steps executed, up to the one that broke the property. */
  steps: { n: number; actor: string; id: string }[];
}

export function verdictOf(r: RunResult): Verdict {
  const v = r.violation;
  return {
    result: r.verdict,
    property: v?.property ?? null,
    holder: v?.holder ?? null,
    actor: v?.actor ?? null,
    step: v?.step ?? null,
    stepId: v?.stepId ?? null,
    message: v?.message ?? r.error,
  };
}

export function buildCounterexample(a: {
  policy: string;
  variant: LoadedVariant | null;
  campaign: CounterexampleFile['campaign'];
  signature: string;
  scenario: Scenario;
  result: RunResult;
  properties?: string[] | null;
}): CounterexampleFile {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    modelVersion: MODEL_VERSION,
    policy: a.policy,
    variant: a.variant && { name: a.variant.spec.name, file: a.variant.file, sha256: a.variant.sha256, source: a.variant.source },
    campaign: a.campaign,
    signature: a.signature,
    properties: a.properties ?? null,
    verdict: verdictOf(a.result),
    scenario: a.scenario,
    steps: a.result.trace.map((e) => ({ n: e.n, actor: e.actor, id: e.id })),
  };
}

/** policy[+variant]-property-hash.json, the hash over what replays it. */
export function fileName(cx: CounterexampleFile): string {
  const h = sha256(canonicalJson({ policy: cx.policy, variant: cx.variant?.sha256 ?? null, scenario: cx.scenario })).slice(0, 12);
  const who = cx.variant ? `${cx.policy}+${cx.variant.name}` : cx.policy;
  return `${who}-${cx.verdict.property ?? cx.verdict.result}-${h}.json`;
}

export const render = (cx: CounterexampleFile) => JSON.stringify(cx, null, 2) + '\n';

/** Write atomically without replacing anything: returns the path and whether it was new. */
export function saveCounterexample(dir: string, cx: CounterexampleFile): { path: string; created: boolean } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName(cx));
  if (existsSync(path)) return { path, created: false };
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, render(cx));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path); // fails rather than replace a file that appeared meanwhile
    return { path, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { path, created: false };
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

export class CounterexampleError extends Error {}

/** Read and check a counterexample file; errors name the file and line. */
export function loadCounterexample(path: string, text = readFileSync(path, 'utf8')): CounterexampleFile {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : 1;
    throw new CounterexampleError(`${path}:${line}: malformed JSON (${(e as Error).message.replace(/^.*?: /, '').split('\n')[0]})`);
  }
  const lineOf = (key: string) => Math.max(1, text.split('\n').findIndex((l) => l.includes(`"${key}"`)) + 1);
  const o = x as Partial<CounterexampleFile>;
  const need = (ok: boolean, key: string, what: string) => {
    if (!ok) throw new CounterexampleError(`${path}:${lineOf(key)}: ${what}`);
  };
  need(typeof o === 'object' && o !== null && o.format === FORMAT, 'format', `not a counterexample file (format must be "${FORMAT}")`);
  need(o.version === FORMAT_VERSION, 'version', `unsupported version ${JSON.stringify(o.version)} (this tool reads ${FORMAT_VERSION})`);
  need(typeof o.policy === 'string', 'policy', 'missing policy');
  need(typeof o.scenario === 'object' && o.scenario !== null && Array.isArray(o.scenario.threads) && Array.isArray(o.scenario.setup), 'scenario', 'missing or malformed scenario');
  need(typeof o.verdict === 'object' && o.verdict !== null && typeof o.verdict.result === 'string', 'verdict', 'missing verdict');
  need(o.variant === null || (typeof o.variant === 'object' && typeof o.variant?.source === 'string' && typeof o.variant?.sha256 === 'string'), 'variant', 'malformed variant');
  o.properties ??= null;
  need(o.properties === null || (Array.isArray(o.properties) && o.properties.every((p) => typeof p === 'string')), 'properties', 'malformed properties');
  const sc = o.scenario!;
  sc.config ??= {};
  sc.speculation ??= [];
  sc.schedule ??= [];
  sc.choices ??= [];
  return o as CounterexampleFile;
}

/** The properties a saved run was checked against, resolved against the registry. */
export function checkedProperties(cx: CounterexampleFile, byId: (id: string) => Property | undefined): readonly Property[] | undefined {
  if (cx.properties === null) return undefined;
  return cx.properties.map((id) => {
    const p = byId(id);
    if (!p) throw new CounterexampleError(`unknown property '${id}' in counterexample`);
    return p;
  });
}
