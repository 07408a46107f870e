// The report as plain ASCII for a linux-mm reply (SPEC 9): at most 72
// columns, a header, the violation, a race diagram with one column per
// CPU (research/testing-anchors.md 4.2: kernel functions, locks held,
// bad state in brackets), expected against actual, the scenario between
// scissors lines, and the line saying a model found it.

import { isPoint } from './step_labels.js';
import type { DiagramItem, Report } from './report.js';
import { assertPlain, field, item, shellLines, wrap, WIDTH } from './text_layout.js';

const MAX_COLUMNS = 3;
const GAP = '  ';
const SCISSORS = '-- >8 --';

interface Layout {
  cpus: number[];
  gutter: number;
  col: number;
}

function layout(r: Report): Layout {
  const cpus = [...new Set([...r.diagram.map((d) => d.cpu), r.bad?.cpu ?? null].filter((c): c is number => c !== null))].sort((a, b) => a - b);
  const gutter = Math.max(4, ...r.diagram.map((d) => span(d).length));
  const n = Math.max(1, cpus.length <= MAX_COLUMNS ? cpus.length : 1);
  return { cpus, gutter, col: Math.floor((WIDTH - gutter - GAP.length * n) / n) };
}

const span = (d: DiagramItem) => (d.from === d.to ? `${d.from}` : `${d.from}-${d.to}`);

/** Rows of the diagram: a gutter (step numbers) and one cell per CPU column, or a side note across them. */
type Row = { gutter: string; cells: Map<number, string> } | { gutter: string; side: string };

function diagram(r: Report): string[] {
  const L = layout(r);
  const columnar = L.cpus.length <= MAX_COLUMNS;
  const colOf = (cpu: number | null) => (cpu === null || !columnar ? 0 : L.cpus.indexOf(cpu));
  const actorsIn = new Map<number, Set<string>>();
  for (const d of r.diagram) if (d.cpu !== null) (actorsIn.get(colOf(d.cpu)) ?? actorsIn.set(colOf(d.cpu), new Set()).get(colOf(d.cpu))!).add(d.actor);
  const kindOf = new Map(r.actors.map((a) => [a.name, a.kind]));
  const rows: Row[] = [];
  const lastActor = new Map<number, string>();
  const lastFn = new Map<number, string | null>();

  const cellLines = (d: DiagramItem, col: number, width: number): string[] => {
    const kind = kindOf.get(d.actor) ?? 'other';
    const changed = lastActor.get(col) !== d.actor;
    let prefix = '';
    if (!columnar) prefix = changed ? `CPU${d.cpu} ${d.actor}: ` : '';
    else if (kind === 'ipi') prefix = changed ? '<IPI> ' : '';
    else if (kind === 'spec') prefix = changed ? '<hw> ' : '';
    else if (changed && (actorsIn.get(col)?.size ?? 1) > 1) prefix = `${d.actor}: `;
    const [head, sub] = d.call;
    const nested = !changed && sub !== undefined && lastFn.get(col) === head;
    // A point inside the function ("clear", "alloc") goes without saying when a note starts with it.
    const said = sub !== undefined && isPoint(sub) && d.notes.some((n) => n.startsWith(`${sub} `));
    const showSub = sub !== undefined && (!said || nested);
    const lines: string[] = [];
    if (!nested) lines.push(prefix + head!);
    if (showSub) lines.push(`${nested ? prefix : ''}  ${sub}`);
    lastActor.set(col, d.actor);
    lastFn.set(col, d.call.length > 1 || /\(\)$/.test(head!) ? head! : null);
    const out = lines.flatMap((l) => wrap(l, width, /^ */.exec(l)![0].length + 2));
    if (d.locks) out.push(...wrap(`  {${d.locks.join(', ') || 'no locks'}}`, width, 3));
    // In a CPU's own column its name goes without saying: "[TLB: 0x10000 -> frame 4]".
    const own = columnar && d.cpu !== null ? `CPU${d.cpu} ` : null;
    for (const n of d.notes) out.push(...wrap(`  [${own && n.startsWith(own) ? n.slice(own.length) : n}]`, width, 3));
    return out;
  };

  for (const d of r.diagram) {
    const g = span(d);
    if (d.cpu === null && columnar) {
      const w = WIDTH - L.gutter - GAP.length;
      lastActor.set(-1, '');
      const calls = [`(${d.actor}) ${d.call[0]}`, ...d.call.slice(1).map((c) => `  ${c}`)];
      const lines = [...calls.flatMap((l) => wrap(l, w, 4)), ...d.notes.flatMap((n) => wrap(`  [${n}]`, w, 3))];
      lines.forEach((l, i) => rows.push({ gutter: i === 0 ? g : '', side: l }));
    } else {
      const col = colOf(d.cpu);
      cellLines(d, col, L.col).forEach((l, i) => rows.push({ gutter: i === 0 ? g : '', cells: new Map([[col, l]]) }));
    }
    if (r.bad && r.violation && d.from === r.violation.step) {
      const col = r.bad.cpu === null ? colOf(d.cpu) : colOf(r.bad.cpu);
      const w = columnar ? L.col : WIDTH - L.gutter - GAP.length;
      const lead = col === colOf(d.cpu) ? '  ' : '';
      for (const l of wrap(`${lead}[${r.bad.note}]`, w, lead.length + 1)) rows.push({ gutter: '', cells: new Map([[col, l]]) });
    }
  }

  const ncols = columnar ? Math.max(1, L.cpus.length) : 1;
  const line = (gutter: string, cells: Map<number, string>) =>
    (gutter.padStart(L.gutter) + GAP + Array.from({ length: ncols }, (_, i) => (cells.get(i) ?? '').padEnd(L.col)).join(GAP)).trimEnd();
  const head: string[] = [];
  if (columnar) {
    const titles = L.cpus.map((c) => {
      const threads = r.actors.filter((a) => a.kind === 'thread' && a.cpu === c).map((a) => `${a.name} (${a.proc ?? 'kernel thread'}${a.vcpu === undefined ? '' : `, vCPU of ${a.vcpu}`})`);
      return [`CPU${c}`, ...wrap(threads.join(', '), L.col, 0).filter((x) => x !== '')];
    });
    const depth = Math.max(...titles.map((t) => t.length));
    for (let i = 0; i < depth; i++) head.push(line(i === 0 ? 'step' : '', new Map(titles.map((t, c) => [c, t[i] ?? '']))));
    head.push(line('-'.repeat(L.gutter), new Map(titles.map((_, c) => [c, '-'.repeat(L.col)]))));
  } else {
    head.push(line('step', new Map([[0, `${L.cpus.length} CPUs, one line per step`]])), line('-'.repeat(L.gutter), new Map([[0, '-'.repeat(L.col)]])));
  }
  return [
    ...head,
    ...rows.map((row) => ('side' in row ? (row.gutter.padStart(L.gutter) + GAP + row.side).trimEnd() : line(row.gutter, row.cells))),
  ];
}

/** The scenario text, with an over-long config line split (config keys may be spread over lines). */
function scenarioLines(text: string): string[] {
  return text.trimEnd().split('\n').flatMap((l) => {
    if (l.length <= WIDTH || !l.startsWith('config ')) return [l];
    return wrap(l.slice('config '.length), WIDTH - 'config '.length).map((x) => `config ${x}`);
  });
}

export function renderText(r: Report): string {
  const h = r.header;
  const out: string[] = [];
  out.push(...wrap(`mshare-check: ${r.title}`, WIDTH, 2), ...wrap(r.summary, WIDTH, 2), '');
  out.push(...field('Policy:', `${h.policy}${h.variant ? `: ${h.variant.description}` : ''}`));
  if (h.variant) {
    out.push(...field('Base:', `${h.base.name} (${h.base.date}): ${h.base.description}`));
    out.push(...field('Variant:', `${h.variant.file}, sha256 ${h.variant.sha256.slice(0, 16)} (source embedded in the counterexample)`));
  } else out.push(...field('Date:', `${h.base.date}: ${h.base.description}`));
  out.push(...field('Model:', `mshare-check ${h.modelVersion}${h.savedModelVersion === h.modelVersion ? '' : ` (file written by ${h.savedModelVersion})`}, counterexample format ${h.fileFormat}`));
  out.push(...field('Config:', Object.entries(h.config).map(([k, v]) => `${k}=${v}`).join(' ')));
  out.push(...field('Found:', h.found));
  out.push(...field('Signature:', h.signature));
  if (h.dependsOn) out.push(...field('Rests on:', `${h.dependsOn}: a knob this run consulted is not cited from a patch or talk (docs/policies/${h.base.name}.md), so this is not a finding of the design`));
  out.push('Replay:', ...shellLines(h.replay));
  if (!r.sameAsSaved) {
    const s = r.counterexample.verdict;
    out.push('', ...wrap(`NOTE: this replay gives ${r.verdict.result} ${r.verdict.property ?? ''} at step ${r.verdict.step ?? '-'}; the file recorded ${s.result} ${s.property ?? ''} at step ${s.step ?? '-'}. The model changed since it was saved.`, WIDTH, 0));
  }
  out.push('');

  const v = r.violation;
  if (v) {
    const who = v.cpu === null ? v.actor : `${v.actor} on CPU${v.cpu}`;
    out.push(...wrap(`Violation: ${v.property} at step ${v.step} (${who}, ${v.stepId}):`, WIDTH, 2), ...wrap(`  ${v.message}`, WIDTH, 4));
    const d = v.decidedBy === null ? undefined : r.steps[v.decidedBy - 1];
    if (d?.flush) out.push(...wrap(`Last flush before it: step ${d.n} (${d.actor}), ${d.flush}`, WIDTH, 2));
    out.push('');
  } else if (r.verdict.result === 'model-error') {
    out.push(...wrap(`Model error: ${r.verdict.message}`, WIDTH, 2), '');
  }

  out.push(`Race (${r.steps.length} steps in ${r.diagram.length} entries, time runs down)`, '', ...diagram(r), '');
  const ipi = r.diagram.some((d) => r.actors.find((a) => a.name === d.actor)?.kind === 'ipi');
  const legend = [
    'a-b: steps of one actor collapsed into one entry (every step is in --format json)',
    '[...]: state after the step',
    '{...}: locks its actor then holds',
    ...(ipi ? ['<IPI>: the flush IPI handler interrupting that CPU'] : []),
  ];
  out.push(...wrap(`${legend.join('; ')}.`, WIDTH, 0), '');

  if (v) {
    out.push('Expected (reference and property)', ...r.expected.flatMap(item), '');
    out.push(`Actual (TLB-visible state after step ${v.step})`, ...r.actual.flatMap(item), '');
  }

  out.push('Scenario: save the lines between the scissors as race.txt and run', ...shellLines(r.scenario.replay), '');
  out.push(`${SCISSORS} scenario`, ...scenarioLines(r.scenario.text), SCISSORS, '');
  out.push(r.provenance);
  return assertPlain(out.join('\n') + '\n');
}

/** The scenario embedded in a rendered report, as a file a reader would save from it. */
export function scenarioFromText(text: string): string {
  const lines = text.split('\n');
  const a = lines.findIndex((l) => l.startsWith(SCISSORS));
  const b = lines.findIndex((l, i) => i > a && l.startsWith(SCISSORS));
  if (a < 0 || b < 0) throw new Error('no scenario between scissors lines');
  return lines.slice(a + 1, b).join('\n') + '\n';
}
