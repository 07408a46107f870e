// One thread made two: the operations from some point on move to a new
// thread of the same process on the same CPU, listed right after it or
// last.
// Two calls in one thread run in program order, so a race that needs
// something in between costs schedule entries; as two threads, the
// runner's fallback order may give it for free. Taken only when the size
// shrinks (fewer entries for the same operations), never for its own sake.

import type { Scenario } from '../model/run/scenario.js';

export function splitCandidates(sc: Scenario): { what: string; scenario: Scenario }[] {
  const names = new Set(sc.threads.map((t) => t.name));
  let n = sc.threads.length;
  while (names.has(`T${n}`)) n++;
  const fresh = `T${n}`;
  const out: { what: string; scenario: Scenario }[] = [];
  sc.threads.forEach((t, i) => {
    for (let j = 1; j < t.ops.length; j++) {
      const head = { ...t, ops: t.ops.slice(0, j) };
      const tail = { ...t, name: fresh, ops: t.ops.slice(j) };
      const before = sc.threads.slice(0, i);
      const after = sc.threads.slice(i + 1);
      // right after it, or last: where the fallback order reaches it after the others
      out.push({ what: `${t.name} from op ${j} into ${fresh}`, scenario: { ...sc, threads: [...before, head, tail, ...after] } });
      if (after.length) out.push({ what: `${t.name} from op ${j} into ${fresh}, last`, scenario: { ...sc, threads: [...before, head, ...after, tail] } });
    }
  });
  return out;
}
