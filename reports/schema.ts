// A small structural schema for the JSON files the tool reads: exact keys,
// types, integer ranges and string shapes, checked before any value is
// used. A problem names the path of the offending value; the caller turns
// the path into a line (json_lines.ts).

export type Schema =
  | { t: 'int'; min: number; max?: number }
  | { t: 'str'; max: number; pattern?: RegExp; what?: string }
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'const'; value: string | number }
  | { t: 'null-or'; of: Schema }
  | { t: 'arr'; of: Schema; max: number }
  | { t: 'obj'; req: Record<string, Schema>; opt?: Record<string, Schema>; check?: (o: Record<string, unknown>) => string | null }
  /** Objects told apart by their `kind`. */
  | { t: 'kind'; kinds: Record<string, Schema & { t: 'obj' }> }
  /** One of several shapes, told apart by JSON type (a string, an array, an object); `what` names them all. */
  | { t: 'one-of'; of: Schema[]; what: string };

export interface SchemaProblem {
  path: string;
  problem: string;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'a string' : typeof v);
const join = (path: string, k: string | number) => (path === '' ? String(k) : `${path}.${k}`);
const show = (v: unknown) => JSON.stringify(v)!.slice(0, 40);

/** The JSON type a schema accepts (as typeName() spells it), to pick the alternative of a one-of. */
function typeOfSchema(s: Schema): string {
  switch (s.t) {
    case 'int':
      return 'number';
    case 'str':
    case 'enum':
      return 'a string';
    case 'const':
      return typeof s.value === 'number' ? 'number' : 'a string';
    case 'bool':
      return 'boolean';
    case 'arr':
      return 'an array';
    default:
      return 'an object';
  }
}

export function checkSchema(v: unknown, s: Schema, path = ''): SchemaProblem | null {
  const bad = (problem: string) => ({ path, problem: `${path || 'the file'}: ${problem}` });
  switch (s.t) {
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return bad(`must be an integer, got ${typeName(v) === 'number' ? show(v) : typeName(v)}`);
      if (v < s.min) return bad(`must be at least ${s.min}, got ${v}`);
      if (s.max !== undefined && v > s.max) return bad(`must be at most ${s.max}, got ${v}`);
      return null;
    case 'str':
      if (typeof v !== 'string') return bad(`must be a string, got ${typeName(v)}`);
      if (v.length > s.max) return bad(`string longer than ${s.max} characters`);
      if (s.pattern && !s.pattern.test(v)) return bad(`${show(v)} is not ${s.what ?? `of the form ${s.pattern}`}`);
      return null;
    case 'bool':
      return typeof v === 'boolean' ? null : bad(`must be true or false, got ${typeName(v)}`);
    case 'enum':
      return typeof v === 'string' && s.values.includes(v) ? null : bad(`must be one of ${s.values.join(', ')}, got ${show(v)}`);
    case 'const':
      return v === s.value ? null : bad(`must be ${JSON.stringify(s.value)}, got ${show(v)}`);
    case 'null-or':
      return v === null ? null : checkSchema(v, s.of, path);
    case 'arr': {
      if (!Array.isArray(v)) return bad(`must be an array, got ${typeName(v)}`);
      if (v.length > s.max) return bad(`${v.length} entries, above the limit of ${s.max}`);
      for (const [i, x] of v.entries()) {
        const p = checkSchema(x, s.of, join(path, i));
        if (p) return p;
      }
      return null;
    }
    case 'obj': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`must be an object, got ${typeName(v)}`);
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!(k in s.req) && !(s.opt && k in s.opt)) return { path: join(path, k), problem: `${join(path, k)}: unknown key '${k}'` };
      for (const [k, sub] of Object.entries(s.req)) {
        if (!(k in o)) return bad(`missing key '${k}'`);
        const p = checkSchema(o[k], sub, join(path, k));
        if (p) return p;
      }
      for (const [k, sub] of Object.entries(s.opt ?? {})) {
        if (!(k in o)) continue;
        const p = checkSchema(o[k], sub, join(path, k));
        if (p) return p;
      }
      const c = s.check?.(o);
      return c ? bad(c) : null;
    }
    case 'kind': {
      const kind = (v as { kind?: unknown } | null)?.kind;
      if (typeof v !== 'object' || v === null || typeof kind !== 'string' || !(kind in s.kinds)) {
        return bad(`unknown kind ${show(kind)} (known: ${Object.keys(s.kinds).join(', ')})`);
      }
      return checkSchema(v, s.kinds[kind]!, path);
    }
    case 'one-of': {
      const shaped = s.of.filter((alt) => typeName(v) === typeOfSchema(alt));
      if (shaped.length === 0) return bad(`must be ${s.what}, got ${typeName(v)}`);
      let first: SchemaProblem | null = null;
      for (const alt of shaped) {
        const p = checkSchema(v, alt, path);
        if (!p) return null;
        first ??= p;
      }
      return first;
    }
  }
}
