// mshare-check check [FILE]: every check of a checks file (default
// checks.json; campaigns/check_file.ts), each fuzzed within its budget
// (campaigns/patch_check.ts). A new signature is shrunk, saved in --out and
// printed with the command that reports it; a changed verdict is named.
// Exit 0 when every check passes, 1 when one fails, 3 when one fails on a
// model error, 2 on a malformed file, 130 on Ctrl-C.

import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CheckFileError, parseCheckFile, type Check } from '../campaigns/check_file.js';
import { runCheck, type CheckVerdict } from '../campaigns/patch_check.js';
import type { Executor } from '../campaigns/campaign.js';
import type { ctxCache } from '../campaigns/campaign.js';
import { printFinding } from './campaign_out.js';
import { printable, UsageError } from './errors.js';
import { readInputFile } from './input.js';
import { prepareOutDir, saveOrSpill, type Io } from './out_dir.js';

export const DEFAULT_CHECKS = 'checks.json';
export const DEFAULT_CHECK_OUT = 'check-out';

const plural = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;

/** The lines of one check's verdict; `saved` maps a new signature to the file its finding went to. */
export function verdictLines(v: CheckVerdict, saved: ReadonlyMap<string, string>, variantArg: string | null): string[] {
  const c = v.check;
  const head = `check ${c.name}: ${v.shown}, seed "${printable(c.seed)}", ${v.runs} runs, ${v.steps} steps`;
  const out = [`${head}: ${v.interrupted ? 'INTERRUPTED' : v.ok ? 'ok' : 'FAILED'}`];
  for (const s of v.signatures) {
    const u = v.unexpected.find((x) => x.count.signature === s.signature);
    const runs = `${plural(s.count, 'run')}, first run ${s.first.index}`;
    if (!u) {
      const required = Object.values(c.expect).some((e) => e !== 'holds' && e.mustShow && e.known.includes(s.signature));
      out.push(`  ${required ? 'shows ' : 'known '}   ${printable(s.signature)} (${runs}${required ? ', required' : ''})`);
      continue;
    }
    out.push(`  NEW      ${printable(s.signature)} (${runs}); the file expects: ${printable(u.expected)}`);
    const file = saved.get(s.signature);
    if (file) out.push(`           counterexample: ${file}`, `           report: npx mshare-check report ${file}${variantArg ? ` --variant ${variantArg}` : ''}`);
    else out.push('           not saved (interrupted, or the save failed: see above)');
  }
  for (const s of v.missing) out.push(`  CHANGED  ${printable(s)} must show, and no run of ${v.runs} showed it`);
  for (const s of v.unseen) out.push(`  unseen   ${printable(s)} (known, not required: fixed, or not reached within the budget)`);
  for (const e of v.neverRun) out.push(`  NOT RUN  ${printable(e)}: no run of ${v.runs} executed this edit, so the check did not test it (more runs, or --ops that reach it)`);
  const held = Object.entries(c.expect).filter(([p, e]) => e === 'holds' && !v.signatures.some((s) => s.signature.startsWith(`${p}|`)));
  out.push(`  holds    ${held.length === Object.keys(c.expect).length ? 'every property' : held.map(([p]) => p).join(', ')}`);
  return out;
}

export async function cmdCheck(args: string[], io: Io, exec: (jobs: string | undefined, ctxs: ReturnType<typeof ctxCache>) => Executor, ctxs: ReturnType<typeof ctxCache>, interruptible: <T>(run: (signal: AbortSignal) => Promise<T>) => Promise<T>): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { check: { type: 'string', multiple: true }, out: { type: 'string' }, jobs: { type: 'string' } } });
  if (positionals.length > 1) throw new UsageError('check takes at most one FILE (default checks.json)');
  const file = positionals[0] ?? DEFAULT_CHECKS;
  let checks: Check[];
  try {
    checks = parseCheckFile(file, readInputFile(file));
  } catch (e) {
    if (e instanceof CheckFileError) throw new UsageError(e.message);
    throw e;
  }
  for (const name of values.check ?? []) if (!checks.some((c) => c.name === name)) throw new UsageError(`${file}: no check named '${printable(name)}' (checks: ${checks.map((c) => c.name).join(', ')})`);
  if (values.check) checks = checks.filter((c) => values.check!.includes(c.name));
  const outDir = values.out ?? DEFAULT_CHECK_OUT;
  const executor = exec(values.jobs, ctxs);
  prepareOutDir(outDir);
  const verdicts: CheckVerdict[] = [];
  const stopped = await interruptible(async (signal) => {
    for (const c of checks) {
      const variantArg = c.variant ? relative(resolve('.'), c.variant.path) : null;
      const saved = new Map<string, string>();
      let v: CheckVerdict;
      try {
        v = await runCheck(c, {
          exec: executor,
          seedCtx: ctxs.seed,
          signal,
          onFinding: (f) => {
            const s = printFinding(io, f, () => saveOrSpill(outDir, f.cx, io), variantArg);
            if (s) saved.set(f.signature, s.path);
          },
        });
      } catch (e) {
        if (e instanceof CheckFileError) throw new UsageError(e.message);
        throw e;
      }
      verdicts.push(v);
      for (const l of verdictLines(v, saved, variantArg)) io.out(l);
      if (v.interrupted) return true;
    }
    return false;
  });
  const failed = verdicts.filter((v) => !v.ok && !v.interrupted);
  if (stopped) {
    io.out(`result: interrupted (SIGINT) after ${plural(verdicts.length - 1, 'complete check')}; ${plural(failed.length, 'failed check')}`);
    return 130;
  }
  io.out(failed.length === 0 ? `result: ${plural(verdicts.length, 'check')} passed` : `result: ${failed.length} of ${plural(verdicts.length, 'check')} failed (${failed.map((v) => v.check.name).join(', ')})`);
  if (failed.some((v) => v.modelError)) return 3;
  return failed.length ? 1 : 0;
}
