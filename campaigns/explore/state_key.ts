// The explorer's state key: two executions with equal keys continue the
// same way, so one of them need not be explored (state caching).
//
// The key covers the kernel state, the ideal memory (candidate states
// and open calls), each check's ghost memory, the value counter, the
// choice points reached, and for every actor the step ids it took and
// the ctx objects of the paths it is inside (a path's locals, step.ts).
// It does not cover a generator's own locals that live across two
// yields of one step function (few steps keep any: the convention is
// that locals shared between steps live in `c`); `explore --no-cache`
// drops the assumption and explores every schedule, and the tests run
// both ways on the same scenarios (explore.test.ts).

import { createHash } from 'node:crypto';
import type { Execution } from '../../model/run/execution.js';

/**
 * JSON-like text with sorted keys; Maps and Sets as sorted entries, so
 * equal contents give equal strings whatever the insertion order.
 * Written out by hand: a JSON.stringify replacer that rebuilds every
 * object was most of the explorer's time.
 */
export function canon(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'undefined':
      return 'u';
    case 'function':
      return 'f';
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return 's';
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + canon(v[i]);
    return out + ']';
  }
  if (v instanceof Map) return `M${[...v.entries()].map(([k, x]) => `${canon(k)}:${canon(x)}`).sort().join(',')}`;
  if (v instanceof Set) return `S${[...v].map(canon).sort().join(',')}`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const x = o[keys[i]!];
    if (x === undefined) continue; // as JSON: an absent key and an undefined one are the same state
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(keys[i])}:${canon(x)}`;
  }
  return out + '}';
}

/** The canonical serialization of everything an execution's future depends on, plus the actor that stepped last (preemption cost). */
export function stateKeyText(x: Execution, last: string | null): string {
  const actors = x.actors.map((a) => ({ n: a.name, d: a.done, h: a.history, f: a.frames }));
  return canon({ s: x.s, i: x.ideal.snapshot(), m: x.mems, v: x.values, r: x.reached, a: actors, last });
}

export function stateKey(x: Execution, last: string | null): string {
  return createHash('sha1').update(stateKeyText(x, last)).digest('base64');
}
