// Where findings are saved (--out). Checked and created before the first
// run, so a campaign never ends with a finding it cannot write; and a
// save that fails anyway puts the whole counterexample on stderr, so no
// finding is ever lost (issue 8).

import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { render, saveCounterexample, type CounterexampleFile, type Saved } from '../reports/counterexample.js';
import { UsageError } from './errors.js';

export function prepareOutDir(dir: string): void {
  if (dir === '') throw new UsageError('--out: empty directory name');
  try {
    mkdirSync(dir, { recursive: true });
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
