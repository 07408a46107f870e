// Where findings are saved (--out). Checked and created before the first
// run, so a campaign never ends with a finding it cannot write; and a
// save that fails anyway puts the whole counterexample on stderr, so no
// finding is ever lost (issue 8).

import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { render, saveCounterexample, type CounterexampleFile, type Saved } from '../reports/counterexample.js';
import { UsageError } from './errors.js';
import type { Tty } from './progress.js';

/**
 * mkdir -p, one component at a time: Node's own recursive mkdirSync spins
 * forever on some /proc paths (mkdir there fails with ENOENT although the
 * parent exists, and it retries the parent), the hang issue 8 reported.
 */
export function mkdirp(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = dirname(d)) {
    if (existsSync(d)) break;
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export function prepareOutDir(dir: string): void {
  if (dir === '') throw new UsageError('--out: empty directory name');
  try {
    mkdirp(dir);
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError(`--out ${dir}: not a directory`);
  const probe = join(dir, `.mshare-check-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** stderr when it is a terminal: the campaign progress line goes there (cli/progress.ts). */
  tty?: Tty;
}

/** Save, or say why not and print the file on stderr. Returns null when it could not be saved. */
export function saveOrSpill(dir: string, cx: CounterexampleFile, io: Io): Saved | null {
  try {
    const saved = saveCounterexample(dir, cx);
    const what = saved.created ? 'saved' : 'already saved';
    io.out(`${what}: ${saved.path}${saved.displaced ? ` (${saved.displaced} holds a different file, left alone)` : ''}`);
    return saved;
  } catch (e) {
    io.err(`mshare-check: could not save the counterexample in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it follows on stderr`);
    io.err(render(cx).trimEnd());
    return null;
  }
}
