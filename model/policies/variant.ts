// The variant API (SPEC 4.4): a variant is a named policy derived from a
// base policy by edits on step ids. A step id names exactly one step of
// one path, so every edit is checked: an unknown id is an error, never a
// silent no-op. Whole hooks (the IPI handler flush_tlb_func,
// switch_mm_irqs_off, ...) are paths and can be replaced as a whole.
// State of the variant's own lives in `s.ext[namespace]`.

/** A variant that does not fit its base policy: bad input (exit 2), not a model error. */
export class VariantError extends Error {
  override name = 'VariantError';
}
import { DECISION_IDS, type Decision } from '../kernel/decisions.js';
import type { MshareKnobs } from '../kernel/mshare/knobs.js';
import { didYouMean } from '../run/nearest.js';
import type { VariantEdit } from '../kernel/step.js';
import { stepIndex, type Policy, type StepDef, type StepFn } from './policy.js';
import { resetVariantBudget } from './variant_budget.js';

/** Where an edit of a shared step applies: only while the actor is inside path `within` (a per-call-site edit). */
export interface EditScope {
  within?: string;
}

export class VariantBuilder {
  private paths: Record<string, StepDef[]>;
  private mshare: MshareKnobs | null;
  /** Knobs this variant set: their values are the variant's, not the base's cited ones. */
  private edited = new Set<keyof MshareKnobs>();
  private decisions: Record<string, Decision>;
  /** Every edit in the order written: the never-executed report names them (PathTable.edits). */
  private edits: VariantEdit[] = [];
  /** Steps the variant added: build() names them under the variant. */
  private inserted = new Set<StepDef>();

  constructor(private readonly base: Policy) {
    this.paths = Object.fromEntries(Object.entries(base.paths).map(([k, v]) => [k, [...v]]));
    this.mshare = base.mshare && { ...base.mshare };
    this.decisions = { ...base.decisions };
  }

  private record(text: string, on: VariantEdit['on'], paths: readonly string[], ids: readonly string[] = []): number {
    this.edits.push({ text, on, paths: [...new Set(paths)], ids: [...new Set(ids)] });
    return this.edits.length - 1;
  }

  /** `within` must be another path of the policy than the one holding the step, or the scope would always (or never) hold. */
  private scope(id: string, path: string, scope: EditScope | undefined): string | null {
    const w = scope?.within;
    if (w === undefined) return null;
    if (!this.paths[w]) throw new VariantError(`variant of ${this.base.name}: no path '${w}' for within${didYouMean(w, Object.keys(this.paths))}`);
    if (w === path) throw new VariantError(`variant of ${this.base.name}: ${id} is a step of ${w} itself; within names a caller`);
    return w;
  }

  /**
   * Override a named decision point (model/kernel/decisions.ts): `fn` gets
   * the kernel's value of the condition and returns the variant's, so a
   * patch that changes one condition does not copy the step around it.
   */
  decide(id: string, fn: Decision): this {
    if (!DECISION_IDS.has(id)) throw new VariantError(`variant of ${this.base.name}: no decision point '${id}'${didYouMean(id, [...DECISION_IDS])} (known: ${[...DECISION_IDS].join(', ')})`);
    this.decisions[id] = fn;
    this.record(`decide ${id}`, { kind: 'decision', id }, [], [id]);
    return this;
  }

  private locate(id: string): { path: string; i: number } {
    for (const [path, steps] of Object.entries(this.paths)) {
      const i = steps.findIndex((s) => s.id === id);
      if (i >= 0) return { path, i };
    }
    throw new VariantError(`variant of ${this.base.name}: no step '${id}' (known: ${[...stepIndex({ ...this.base, paths: this.paths }).keys()].join(', ')})`);
  }

  /** Remove a step; with `within`, only where the actor is inside that caller (the step stays for every other caller). */
  drop(id: string, scope?: EditScope): this {
    const { path, i } = this.locate(id);
    const w = this.scope(id, path, scope);
    if (w === null) {
      this.paths[path]!.splice(i, 1);
      this.record(`drop ${id}`, { kind: 'path', path }, [path], [id]);
      return this;
    }
    const orig = this.paths[path]![i]!;
    const n = this.record(`drop ${id} within ${w}`, { kind: 'step' }, [path, w], [id]);
    this.put(path, i, {
      id,
      fn: function* (k, c) {
        if (!k.within(w)) return yield* orig.fn(k, c);
        k.noteEdit(n);
      },
    });
    return this;
  }

  /** Replace a step's body, keeping its id and place; with `within`, only for that caller. */
  replace(id: string, fn: StepFn, scope?: EditScope): this {
    const { path, i } = this.locate(id);
    const w = this.scope(id, path, scope);
    const orig = this.paths[path]![i]!;
    const n = this.record(w === null ? `replace ${id}` : `replace ${id} within ${w}`, { kind: 'step' }, w === null ? [path] : [path, w], [id]);
    this.put(path, i, {
      id,
      fn: function* (k, c) {
        if (w !== null && !k.within(w)) return yield* orig.fn(k, c);
        k.noteEdit(n);
        return yield* fn(k, c);
      },
    });
    return this;
  }

  /** Put `def` in place of step `i` of `path`; a step the variant inserted stays named under it. */
  private put(path: string, i: number, def: StepDef) {
    if (this.inserted.has(this.paths[path]![i]!)) this.inserted.add(def);
    this.paths[path]![i] = def;
  }

  private added(st: StepDef, text: string, path: string): StepDef {
    const n = this.record(text, { kind: 'step' }, [path]);
    const def: StepDef = { id: st.id, fn: marked(n, st.fn) };
    this.inserted.add(def);
    return def;
  }

  /** Add a step; build() names it, and every step id it yields, under the variant ("name:id"), never as a kernel function. */
  insertBefore(id: string, st: StepDef): this {
    const { path, i } = this.locate(id);
    this.paths[path]!.splice(i, 0, this.added(st, `insert ${st.id} before ${id}`, path));
    return this;
  }

  insertAfter(id: string, st: StepDef): this {
    const { path, i } = this.locate(id);
    this.paths[path]!.splice(i + 1, 0, this.added(st, `insert ${st.id} after ${id}`, path));
    return this;
  }

  /**
   * Move a step before or after another step. Across paths only with
   * `acrossPaths`: the step then runs with the locals (`c`) of the path it
   * lands in, so it must read only what that path's locals hold.
   */
  move(id: string, where: { before: string } | { after: string }, opts?: { acrossPaths?: boolean }): this {
    const from = this.locate(id);
    const st = this.paths[from.path]![from.i]!;
    this.paths[from.path]!.splice(from.i, 1);
    const anchor = 'before' in where ? where.before : where.after;
    const to = this.locate(anchor);
    if (to.path !== from.path && !opts?.acrossPaths) throw new VariantError(`variant: cannot move ${id} (path ${from.path}) next to ${anchor} (path ${to.path}) without { acrossPaths: true }`);
    const n = this.record(`move ${id} ${'before' in where ? 'before' : 'after'} ${anchor}`, { kind: 'step' }, [from.path, to.path], [id]);
    const moved: StepDef = { id, fn: marked(n, st.fn) };
    if (this.inserted.has(st)) this.inserted.add(moved);
    this.paths[to.path]!.splice('before' in where ? to.i : to.i + 1, 0, moved);
    return this;
  }

  /** Replace a whole path (a hook such as flush_tlb_func or switch_mm_irqs_off). */
  replacePath(path: string, steps: StepDef[]): this {
    if (!this.paths[path]) throw new VariantError(`variant of ${this.base.name}: no path '${path}'`);
    this.paths[path] = [...steps];
    this.record(`replacePath ${path}`, { kind: 'path', path }, [path]);
    return this;
  }

  /** Change mshare design knobs (a policy with mshare only). */
  knobs(patch: Partial<MshareKnobs>): this {
    if (!this.mshare) throw new VariantError(`variant of ${this.base.name}: the policy has no mshare knobs`);
    this.mshare = { ...this.mshare, ...patch };
    for (const key of Object.keys(patch) as (keyof MshareKnobs)[]) {
      this.edited.add(key);
      this.record(`knob ${key}=${JSON.stringify(patch[key])}`, { kind: 'knob', name: key }, []);
    }
    return this;
  }

  build(name: string, description: string): Policy {
    const short = name.includes('+') ? name.slice(name.lastIndexOf('+') + 1) : name;
    const paths = Object.fromEntries(
      Object.entries(this.paths).map(([p, steps]) => [p, steps.map((st) => (this.inserted.has(st) ? underVariant(short, st) : st))]),
    );
    const seen = new Set<string>();
    for (const steps of Object.values(paths)) {
      for (const st of steps) {
        if (seen.has(st.id)) throw new VariantError(`variant ${name}: step id '${st.id}' appears twice`);
        seen.add(st.id);
      }
    }
    const sources = this.base.knobSources && { ...this.base.knobSources };
    if (sources) for (const key of this.edited) sources[key] = { status: 'guess', cite: `variant ${name}`, note: `${key} set by the variant, not by a posted patch` };
    const decisions = Object.keys(this.decisions).length ? { decisions: this.decisions } : {};
    return { name, date: this.base.date, description, paths, mshare: this.mshare, ...decisions, edits: [...this.edits], ...(sources ? { knobSources: sources } : {}) };
  }
}

/** A step body that reports edit `n` executed each time it starts. */
function marked(n: number, fn: StepFn): StepFn {
  return function* (k, c) {
    k.noteEdit(n);
    return yield* fn(k, c);
  };
}

/**
 * An inserted step under the variant's name: its id and every id it
 * yields itself become "variant:id", so a trace or report never shows it as
 * a kernel function. Steps of a kernel path it runs (k.run) keep their ids:
 * they are told apart by the actor's path depth.
 */
function underVariant(variant: string, st: StepDef): StepDef {
  const fn = st.fn;
  return {
    id: `${variant}:${st.id}`,
    fn: function* (k, c) {
      const depth = k.depth();
      const g = fn(k, c);
      for (let r = g.next(); ; r = g.next()) {
        if (r.done) return r.value;
        yield k.depth() === depth ? { ...r.value, id: `${variant}:${r.value.id}` } : r.value;
      }
    },
  };
}

export interface VariantSpec {
  /** Name shown in reports, e.g. "linux+free-before-flush". */
  name: string;
  description: string;
  /** The policy it is a variant of, for tools that run every kept mutant (npm run bench); linux when absent. The CLI's --policy still decides. */
  policy?: string;
  edit(v: VariantBuilder): void;
}

/** What a variant file exports by default. */
export function defineVariant(spec: VariantSpec): VariantSpec {
  return spec;
}

export function applyVariant(base: Policy, spec: VariantSpec): Policy {
  const b = new VariantBuilder(base);
  resetVariantBudget();
  spec.edit(b);
  return b.build(`${base.name}+${spec.name}`, spec.description);
}
