// An operation that only prepares the race, made part of the setup: an
// mmap (or MSHAREFS_CREATE_MAPPING) by a thread becomes a mapping that
// exists before the run. Fuzzing often draws a process with no mapping
// that maps its region first; no deletion removes that mmap, yet the
// race rarely needs it to be concurrent. One operation fewer, when the
// signature survives the move (the mapping no longer has a window in the
// reference, and nothing can race with it).

import type { Op, Scenario, SetupItem } from '../model/run/scenario.js';

export function hoistCandidates(sc: Scenario): { what: string; scenario: Scenario }[] {
  const out: { what: string; scenario: Scenario }[] = [];
  sc.threads.forEach((t, i) =>
    t.ops.forEach((op, j) => {
      const item = asSetup(op, t.proc);
      if (!item || overlaps(sc.setup, item)) return; // the call failed with EEXIST; a setup cannot say that
      const threads = sc.threads.map((u, k) => (k === i ? { ...u, ops: u.ops.filter((_, m) => m !== j) } : u)).filter((u) => u.ops.length > 0);
      const gone = threads.length < sc.threads.length ? t.name : null;
      out.push({
        what: `op ${t.name}.${j} into the setup`,
        scenario: { ...sc, setup: [...sc.setup, item], threads, schedule: sc.schedule.filter((e) => e.actor !== gone), choices: sc.choices.filter((c) => c.actor !== gone) },
      });
    }),
  );
  return out;
}

function asSetup(op: Op, proc: string): SetupItem | null {
  if (op.kind === 'mmap') return { kind: 'mmap', proc, start: op.va, pages: op.pages, prot: op.prot, file: op.file, pgoff: op.pgoff };
  if (op.kind === 'mshare_map') return { kind: 'mshare_map', file: op.file, offset: op.offset, pages: op.pages, prot: op.prot };
  return null;
}

function overlaps(setup: readonly SetupItem[], it: SetupItem): boolean {
  if (it.kind !== 'mmap') return false;
  return setup.some((x) => x.kind === 'mmap' && x.proc === it.proc && x.start < it.start + it.pages && it.start < x.start + x.pages);
}
