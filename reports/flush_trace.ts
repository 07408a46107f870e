// What each TLB flush of a run was, for the report: its range, its
// stride, and its kind (a partial flush of INVLPGs per stride, or a full
// flush of the mm's PCID), and whether page tables were freed, as a
// reviewer needs it at the step that decides a race.
//
// get_flush_tlb_info() (arch/x86/mm/tlb.c) decides it inside the step
// `flush_tlb_mm_range.inc_mm_tlb_gen`, in the path's ctx, which the state
// does not hold. So the report replays under a copy of the policy whose
// flush_tlb_mm_range step is wrapped: the wrapper passes every value
// through unchanged and, when the step yields, copies the request
// (mm, start, end, stride, freed_tables) and the decided FlushInfo. A
// silent property hands the copy to the step that yielded it. The model
// is not changed and the run is the same step for step (report.test.ts
// replays every saved counterexample to its saved verdict).

import { LEVELS, span, type Config } from '../model/kernel/config.js';
import { LEVEL_NAME } from '../model/kernel/pagetable.js';
import type { FlushInfo } from '../model/kernel/state.js';
import { TLB_FLUSH_ALL } from '../model/kernel/state.js';
import type { StepDef } from '../model/kernel/step.js';
import { vaHex } from '../model/kernel/types.js';
import type { Policy } from '../model/policies/policy.js';
import type { Property } from '../properties/property.js';

/** The step inside which get_flush_tlb_info() has decided the flush. */
export const FLUSH_DECIDED = 'flush_tlb_mm_range.inc_mm_tlb_gen';
/** flush_tlb_all(): every CPU's whole TLB, by IPI or by INVLPGB. */
const FLUSH_ALL_STEPS = new Set(['flush_tlb_all.send', 'flush_tlb_all.invlpgb_flush_all']);

export interface FlushRecord {
  mm: string;
  /** What tlb_flush() or the caller asked for. */
  request: { start: number; end: number; stride: number; freedTables: boolean };
  /** What get_flush_tlb_info() made of it. */
  info: FlushInfo;
}

interface FlushCtxView {
  mm?: string;
  start?: number;
  end?: number;
  stride?: number;
  freedTables?: boolean;
  info?: FlushInfo;
}

/** The policy with its flush decision observed, and the property that files each decision under its step number. */
export function flushTracer(policy: Policy): { policy: Policy; property: Property; flushes: Map<number, FlushRecord> } {
  const seen = new Map<string, FlushRecord>();
  const flushes = new Map<number, FlushRecord>();
  const wrap = (st: StepDef): StepDef =>
    st.id !== FLUSH_DECIDED
      ? st
      : {
          id: st.id,
          *fn(k, c: FlushCtxView) {
            const g = st.fn(k, c);
            let r = g.next();
            while (!r.done) {
              if (c.info && c.mm !== undefined) seen.set(k.self, { mm: c.mm, request: { start: c.start!, end: c.end!, stride: c.stride!, freedTables: c.freedTables! }, info: { ...c.info } });
              r = g.next(yield r.value);
            }
            return r.value;
          },
        };
  const paths = Object.fromEntries(Object.entries(policy.paths).map(([p, steps]) => [p, steps.map(wrap)]));
  const property: Property = {
    id: 'report-flush-trace',
    statement: "files each flush decision under the step that made it; never fails",
    rule: 'none',
    check({ event }) {
      const f = event.id === FLUSH_DECIDED ? seen.get(event.actor) : undefined;
      if (f) {
        flushes.set(event.n, f);
        seen.delete(event.actor);
      }
      return null;
    },
  };
  return { policy: { ...policy, paths }, property, flushes };
}

/** "PTE stride (1 page)", "PMD stride (4 pages)": the stride by the table level it spans. */
export function strideText(stride: number, config: Config): string {
  let level = 1;
  while (level < LEVELS && span(config, level) < stride) level++;
  const name = span(config, level) === stride ? (LEVEL_NAME[level] ?? `L${level}`).toUpperCase() : `${stride}-page`;
  return `${name} stride (${stride} page${stride === 1 ? '' : 's'})`;
}

/** One line for a flush decision: range, stride, kind, tables. */
export function flushText(f: FlushRecord, config: Config): string {
  const { request: q, info } = f;
  const tables = q.freedTables ? 'tables freed' : 'no tables freed';
  const asked = `${vaHex(q.start)}-${vaHex(q.end)}`;
  if (q.end === TLB_FLUSH_ALL) return `flush ${f.mm}: full (TLB_FLUSH_ALL asked for), ${tables}`;
  if (info.end === TLB_FLUSH_ALL) {
    const strides = Math.floor((q.end - q.start) / q.stride);
    const why = strides > config.flushCeiling ? `${strides} strides > ceiling ${config.flushCeiling}` : 'a schedule choice under the ceiling';
    return `flush ${f.mm} ${asked}, ${strideText(q.stride, config)}: full (TLB_FLUSH_ALL, ${why}), ${tables}`;
  }
  const n = Math.ceil((info.end - info.start) / info.stride);
  return `flush ${f.mm} ${asked}, ${strideText(info.stride, config)}: partial, ${n} INVLPG${n === 1 ? '' : 's'}, ${tables}`;
}

/** The flush a step decides or starts, as text; null when it is not one. */
export function flushNote(id: string, record: FlushRecord | undefined, config: Config): string | null {
  if (record) return flushText(record, config);
  if (FLUSH_ALL_STEPS.has(id)) return 'flush every CPU: full (every PCID, paging-structure caches included)';
  return null;
}
