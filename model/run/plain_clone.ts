// A deep copy of plain data (objects, arrays, primitives), as
// structuredClone() makes of it, without its serialization round trip:
// the runner copies every step's observation into the trace
// (execution.ts), and a step's observation is plain data by type
// (model/kernel/step.ts Observation).

export function plainClone<T>(x: T): T {
  if (x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map(plainClone) as T;
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return structuredClone(x); // not plain: the general copy
  const out: Record<string, unknown> = {};
  for (const k in x) out[k] = plainClone((x as Record<string, unknown>)[k]);
  return out as T;
}
