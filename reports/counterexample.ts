// The versioned JSON counterexample file (SPEC 7): complete, replayable,
// named by a hash of what it replays, written atomically and never over
// an existing file.

import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../model/kernel/serialize.js';
import type { RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { sha256, type LoadedVariant } from '../model/policies/load_variant.js';
import { MODEL_VERSION } from '../model/version.js';
import { jsonLines, lineOf } from './json_lines.js';
import { counterexampleSchema } from './scenario_schema.js';
import { checkSchema } from './schema.js';
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

export interface Saved {
  path: string;
  /** False: an identical, complete file was already there. */
  created: boolean;
  /** Another file already had the content name (a partial or different file): it was left alone. */
  displaced: string | null;
}

/** The file at `path` holds exactly `text` (a 0-byte or truncated file does not). */
function holds(path: string, text: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isFile() && st.size === Buffer.byteLength(text) && readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}

/**
 * Write atomically without replacing anything: the content name if it is
 * free or already holds this very file, else the first free "-N" name
 * beside it. Nothing that is there is ever overwritten. `dir` must exist
 * (cli/out_dir.ts prepareOutDir checks and creates it before a campaign).
 */
export function saveCounterexample(dir: string, cx: CounterexampleFile): Saved {
  const text = render(cx);
  const first = join(dir, fileName(cx));
  for (let n = 1; n <= 100; n++) {
    const path = n === 1 ? first : first.replace(/\.json$/, `-${n}.json`);
    const displaced = n === 1 ? null : first;
    if (holds(path, text)) return { path, created: false, displaced };
    if (taken(path)) continue;
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path); // fails rather than replace a file that appeared meanwhile
      return { path, created: true, displaced };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (holds(path, text)) return { path, created: false, displaced };
    } finally {
      unlinkSync(tmp);
    }
  }
  throw new Error(`${first}: 100 different files already use this name`);
}

/** Anything at all under the name, a dangling symlink included (lstat, not stat). */
function taken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
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
  if (typeof x !== 'object' || x === null || (x as { format?: unknown }).format !== FORMAT) {
    throw new CounterexampleError(`${path}:${lineOf(jsonLines(text), 'format')}: not a counterexample file (format must be "${FORMAT}")`);
  }
  if ((x as { version?: unknown }).version !== FORMAT_VERSION) {
    throw new CounterexampleError(`${path}:${lineOf(jsonLines(text), 'version')}: unsupported version ${JSON.stringify((x as { version?: unknown }).version)} (this tool reads ${FORMAT_VERSION})`);
  }
  const problem = checkSchema(x, counterexampleSchema(FORMAT, FORMAT_VERSION));
  if (problem) throw new CounterexampleError(`${path}:${lineOf(jsonLines(text), problem.path)}: ${problem.problem}`);
  const o = x as CounterexampleFile;
  o.properties ??= null;
  const sc = o.scenario;
  sc.config ??= {};
  sc.speculation ??= [];
  sc.schedule ??= [];
  sc.choices ??= [];
  return o;
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
