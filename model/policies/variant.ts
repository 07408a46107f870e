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
import { stepIndex, type Policy, type StepDef, type StepFn } from './policy.js';
import { resetVariantBudget } from './variant_budget.js';

export class VariantBuilder {
  private paths: Record<string, StepDef[]>;
  private mshare: MshareKnobs | null;
  /** Knobs this variant set: their values are the variant's, not the base's cited ones. */
  private edited = new Set<keyof MshareKnobs>();
  private decisions: Record<string, Decision>;

  constructor(private readonly base: Policy) {
    this.paths = Object.fromEntries(Object.entries(base.paths).map(([k, v]) => [k, [...v]]));
    this.mshare = base.mshare && { ...base.mshare };
    this.decisions = { ...base.decisions };
  }

  /**
   * Override a named decision point (model/kernel/decisions.ts): `fn` gets
   * the kernel's value of the condition and returns the variant's, so a
   * patch that changes one condition does not copy the step around it.
   */
  decide(id: string, fn: Decision): this {
    if (!DECISION_IDS.has(id)) throw new VariantError(`variant of ${this.base.name}: no decision point '${id}'${didYouMean(id, [...DECISION_IDS])} (known: ${[...DECISION_IDS].join(', ')})`);
    this.decisions[id] = fn;
    return this;
  }

  private locate(id: string): { path: string; i: number } {
    for (const [path, steps] of Object.entries(this.paths)) {
      const i = steps.findIndex((s) => s.id === id);
      if (i >= 0) return { path, i };
    }
    throw new VariantError(`variant of ${this.base.name}: no step '${id}' (known: ${[...stepIndex({ ...this.base, paths: this.paths }).keys()].join(', ')})`);
  }

  /** Remove a step. */
  drop(id: string): this {
    const { path, i } = this.locate(id);
    this.paths[path]!.splice(i, 1);
    return this;
  }

  /** Replace a step's body, keeping its id and place. */
  replace(id: string, fn: StepFn): this {
    const { path, i } = this.locate(id);
    this.paths[path]![i] = { id, fn };
    return this;
  }

  insertBefore(id: string, st: StepDef): this {
    const { path, i } = this.locate(id);
    this.paths[path]!.splice(i, 0, st);
    return this;
  }

  insertAfter(id: string, st: StepDef): this {
    const { path, i } = this.locate(id);
    this.paths[path]!.splice(i + 1, 0, st);
    return this;
  }

  /** Move a step before or after another step of the same path. */
  move(id: string, where: { before: string } | { after: string }): this {
    const from = this.locate(id);
    const st = this.paths[from.path]![from.i]!;
    this.paths[from.path]!.splice(from.i, 1);
    const anchor = 'before' in where ? where.before : where.after;
    const to = this.locate(anchor);
    if (to.path !== from.path) throw new VariantError(`variant: cannot move ${id} (path ${from.path}) next to ${anchor} (path ${to.path})`);
    this.paths[to.path]!.splice('before' in where ? to.i : to.i + 1, 0, st);
    return this;
  }

  /** Replace a whole path (a hook such as flush_tlb_func or switch_mm_irqs_off). */
  replacePath(path: string, steps: StepDef[]): this {
    if (!this.paths[path]) throw new VariantError(`variant of ${this.base.name}: no path '${path}'`);
    this.paths[path] = [...steps];
    return this;
  }

  /** Change mshare design knobs (a policy with mshare only). */
  knobs(patch: Partial<MshareKnobs>): this {
    if (!this.mshare) throw new VariantError(`variant of ${this.base.name}: the policy has no mshare knobs`);
    this.mshare = { ...this.mshare, ...patch };
    for (const key of Object.keys(patch) as (keyof MshareKnobs)[]) this.edited.add(key);
    return this;
  }

  build(name: string, description: string): Policy {
    const seen = new Set<string>();
    for (const steps of Object.values(this.paths)) {
      for (const st of steps) {
        if (seen.has(st.id)) throw new VariantError(`variant ${name}: step id '${st.id}' appears twice`);
        seen.add(st.id);
      }
    }
    const sources = this.base.knobSources && { ...this.base.knobSources };
    if (sources) for (const key of this.edited) sources[key] = { status: 'guess', cite: `variant ${name}`, note: `${key} set by the variant, not by a posted patch` };
    const decisions = Object.keys(this.decisions).length ? { decisions: this.decisions } : {};
    return { name, date: this.base.date, description, paths: this.paths, mshare: this.mshare, ...decisions, ...(sources ? { knobSources: sources } : {}) };
  }
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
