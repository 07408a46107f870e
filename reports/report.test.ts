// Reports of the saved counterexamples, pinned as text files a reviewer
// can read (__snapshots__/*.txt, written only by `npm run goldens`,
// never by a test: a missing golden fails); the 72-column ASCII rule; the scenario
// copied out of a report replays to the same violation; the JSON holds
// every step and the file it replays from; and the other kinds of
// violation (read-value, locks, deadlock, livelock, model error) render.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Property } from '../properties/property.js';
import { propertyById } from '../properties/registry.js';
import type { Scenario } from '../model/run/scenario.js';
import { mprotect, run, until } from '../test/build.js';
import { pageData } from '../test/hostile_report.js';
import { doubleUnlock, faultNeverMaps, guestAndZap, gupFastTakesPtl, gupPtlDeadlock, neverMapsLivelock, reusedFrameRead, X, zapWhileCached, zapWithoutPtl } from '../test/mutant_cases.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import noIpi from '../variants/no-ipi.js';
import preFea4e317f9e7 from '../variants/pre-fea4e317f9e7.js';
import zapNoFlush from '../variants/pre-a835429cda91-zap-no-flush.js';
import preE930bffe95e1 from '../variants/pre-e930bffe95e1-no-retry.js';
import { corpusFiles, goldenFiles, goldenName, lineDiff, readGolden } from './goldens.js';
import { checkedProperties, buildCounterexample, loadCounterexample, verdictOf, type CounterexampleFile } from './counterexample.js';
import { renderJson } from './render_json.js';
import { foldRepeats } from './fold_repeats.js';
import { renderText, scenarioFromText } from './render_text.js';
import { buildReport, policyFor, type DiagramItem, type Report } from './report.js';
import { parseScenario } from './scenario_text.js';
import { assertPlain, shellLines, wrap, WIDTH } from './text_layout.js';
import { PROPERTIES } from '../properties/registry.js';

const DIR = 'counterexamples';
const files = corpusFiles();
const tmp = () => mkdtempSync(join(tmpdir(), 'mshare-report-'));

function checkLines(text: string) {
  for (const l of text.split('\n')) {
    expect(l.length, l).toBeLessThanOrEqual(WIDTH);
    expect(l, 'plain ASCII').toMatch(/^[\x20-\x7e]*$/);
  }
}

/** The diagram's entries cover steps 1..N once each, in order. */
function checkPartition(r: Report) {
  let next = 1;
  for (const d of r.diagram) {
    expect(d.from).toBe(next);
    expect(d.to).toBeGreaterThanOrEqual(d.from);
    for (let n = d.from; n <= d.to; n++) expect(r.steps[n - 1]!.actor).toBe(d.actor);
    next = d.to + 1;
  }
  expect(next - 1).toBe(r.steps.length);
}

describe('the report of each saved counterexample', () => {
  it('has counterexamples to report', () => expect(files.length).toBeGreaterThanOrEqual(5));

  it('has one golden for each counterexample and none for a counterexample that is gone', () => {
    expect(goldenFiles()).toEqual(files.map(goldenName));
  });

  /**
   * What a saved counterexample found, by which the report must name a
   * different bad state; every file of the corpus is one of these, and a
   * new kind fails here until the checks below learn what its report says.
   */
  type Kind = 'stale TLB entry' | 'stale PSC entry' | 'stale upper entry' | 'unmap not complete' | 'lock rule broken' | 'value the reference forbids' | 'shared table not flushed' | 'PSC entry outlives its link' | 'guest TLB beyond the primary' | 'SPTE beyond the primary' | 'invalidate start never ended' | 'guest_memfd invalidation never ended' | 'in_progress left raised' | 'invalidate end without its start' | 'stale device ATC entry' | 'device ATC outlives the unmap' | 'stale IOMMU PSC entry' | 'stale guest PSC entry';
  const kindOf = (cx: CounterexampleFile): Kind => {
    const { property, holder } = cx.verdict;
    if (property === 'no-freed-frame-reachable' && holder === 'TLB') return 'stale TLB entry';
    if (property === 'no-freed-table-reachable' && holder === 'PSC') return 'stale PSC entry';
    if (property === 'no-freed-table-reachable' && holder === 'upper entry') return 'stale upper entry';
    if (property === 'unmap-complete' && holder === 'TLB') return 'unmap not complete';
    if (property === 'lock-discipline') return 'lock rule broken';
    if (property === 'read-value' && holder === 'ideal') return 'value the reference forbids';
    if (property === 'shared-table-flush' && holder === 'TLB') return 'shared table not flushed';
    if (property === 'no-stale-psc-after-unlink' && holder === 'PSC') return 'PSC entry outlives its link';
    if (property === 'secondary-subset' && holder === 'guest TLB') return 'guest TLB beyond the primary';
    if (property === 'no-freed-frame-reachable' && holder === 'device TLB') return 'stale device ATC entry';
    if (property === 'unmap-complete' && holder === 'device TLB') return 'device ATC outlives the unmap';
    if (property === 'no-freed-table-reachable' && holder === 'device PSC') return 'stale IOMMU PSC entry';
    if (property === 'no-freed-table-reachable' && holder === 'guest PSC') return 'stale guest PSC entry';
    if (property === 'secondary-subset' && holder === 'SPTE') return 'SPTE beyond the primary';
    if (property === 'notifier-balance' && holder === 'notifier') {
      const m = cx.verdict.message ?? '';
      if (/ is -\d+$|without a matching start/.test(m)) return 'invalidate end without its start';
      if (/mmu_invalidate_in_progress is \d+ with \d+ invalidate_range_start/.test(m)) return 'in_progress left raised';
      return m.includes('with a guest_memfd invalidation of') ? 'guest_memfd invalidation never ended' : 'invalidate start never ended';
    }
    throw new Error(`no report checks for ${property} (${holder}): add a kind`);
  };

  it('has a counterexample of every kind of finding the report checks', () => {
    const kinds = new Set(files.map((f) => kindOf(loadCounterexample(join(DIR, f)))));
    expect([...kinds].sort()).toEqual(['PSC entry outlives its link', 'SPTE beyond the primary', 'device ATC outlives the unmap', 'guest TLB beyond the primary', 'guest_memfd invalidation never ended', 'in_progress left raised', 'invalidate end without its start', 'invalidate start never ended', 'lock rule broken', 'shared table not flushed', 'stale IOMMU PSC entry', 'stale PSC entry', 'stale TLB entry', 'stale device ATC entry', 'stale guest PSC entry', 'stale upper entry', 'unmap not complete', 'value the reference forbids']);
  });

  for (const f of files) {
    describe(f, () => {
      const path = join(DIR, f);
      let cx: CounterexampleFile;
      let policy: Policy;
      let report: Report;
      let text: string;
      beforeAll(async () => {
        cx = loadCounterexample(path);
        policy = await policyFor(cx);
        report = buildReport(cx, path, policy);
        text = renderText(report);
      });

      it('renders its golden text (npm run goldens rewrites the goldens)', () => {
        const golden = readGolden(f);
        expect(golden, `no golden reports/__snapshots__/${goldenName(f)}: run npm run goldens and read the diff`).not.toBeNull();
        expect(text).toBe(golden);
      });

      it('keeps every line within 72 columns of plain ASCII', () => checkLines(text));

      it('replays to the verdict the file recorded', () => {
        expect(report.sameAsSaved).toBe(true);
        expect(report.verdict).toEqual(cx.verdict);
        expect(report.steps.map((s) => ({ n: s.n, actor: s.actor, id: s.id }))).toEqual(cx.steps);
      });

      it('embeds a scenario that, saved to a file and parsed, gives the same violation', () => {
        const file = join(tmp(), 'race.txt');
        writeFileSync(file, scenarioFromText(text));
        const sc = parseScenario(readFileSync(file, 'utf8'), file);
        expect(sc).toEqual(cx.scenario);
        expect(verdictOf(runScenario(sc, { policy, properties: checkedProperties(cx, propertyById) ?? PROPERTIES }))).toEqual(cx.verdict);
      });

      it('draws every step once, keeping the ones that make the race', () => {
        checkPartition(report);
        const shown = new Set(report.steps.filter((s) => s.shown).map((s) => s.n));
        expect(shown.has(cx.verdict.step!)).toBe(true);
        // every free, flush, IPI and call entry or return has its own line, and so has every SPTE installed or zapped and every guest-TLB fill
        const must = report.steps.filter((s) => s.effects.some((e) => /^(free |IPI |set \S+ SPTE |zap \S+ SPTE |CPU\d+ guest TLB \(\S+, \S+\): gfn )/.test(e)) || /^sys_|flush_tlb_mm_range|native_flush_tlb_multi/.test(s.id));
        expect(must.length, 'a race has a call, a free, a flush, an IPI or an SPTE').toBeGreaterThan(0);
        for (const s of must) expect(shown.has(s.n), `${s.n} ${s.id}`).toBe(true);
        // ... and so has every step that the actual state names
        const named = [...report.actual.join(' ').matchAll(/\bstep (\d+)/g)].map((m) => Number(m[1]));
        for (const n of named) expect(shown.has(n), `step ${n}, named in the actual state`).toBe(true);
        if (kindOf(cx) === 'lock rule broken') {
          // the locks drawn last for the actor are the ones it holds at the violation
          const v = report.violation!;
          const drawn = report.diagram.filter((d) => d.actor === v.actor && d.from <= v.step && d.locks !== null).at(-1)?.locks ?? [];
          expect(drawn).toEqual(report.steps[v.step - 1]!.locks);
        } else {
          expect(named.length, 'the actual state names the steps of the race').toBeGreaterThanOrEqual(2);
        }
      });

      it('states the bad entry, its frame, and says a model found it', () => {
        const v = report.violation!;
        const actual = report.actual.join(' ');
        expect(text).toContain(`[${report.bad!.note.split(' ').slice(0, 3).join(' ')}`);
        switch (kindOf(cx)) {
          case 'stale TLB entry':
          case 'unmap not complete': {
            const [, cpu, slot, va, frame] = /CPU(\d+) PCID slot (\d+) .*maps (0x[0-9a-f]+) -> frame (\d+)/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'TLB', cpu: Number(cpu), slot: Number(slot), pfn: Number(frame) });
            expect(actual).toMatch(new RegExp(`CPU${cpu} PCID slot ${slot} \\(.*\\): TLB entry ${va} -> frame ${frame} \\(rw?\\), filled at step \\d+`));
            expect(actual).toMatch(new RegExp(`Frame ${frame}: (free since step|still allocated)`));
            expect(actual).toMatch(new RegExp(`${report.focus!.mm} PTE for ${va}: `));
            if (kindOf(cx) === 'stale TLB entry') expect(actual).toContain(`Frame ${frame}: free since step`);
            break;
          }
          case 'stale PSC entry': {
            const [, cpu, slot, level, frame] = /CPU(\d+) PCID slot (\d+) .*caches a (\w+) table at frame (\d+), which is free/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'PSC', cpu: Number(cpu), slot: Number(slot), table: Number(frame) });
            const table = `${level!.toUpperCase()} table`;
            expect(actual).toMatch(new RegExp(`CPU${cpu} PCID slot ${slot} \\(.*\\): paging-structure cache entry for the ${table} at frame ${frame}, cached at step \\d+`));
            expect(actual).toContain(`${table} frame ${frame}: free since step`);
            expect(actual).toMatch(/\S+'s P[GUM]D entry \d+, which pointed at it, was cleared at step \d+/);
            break;
          }
          case 'shared table not flushed': {
            // "zap_pte_range.clear (step 57) changed entry 0 of the shared pte table 4; frame 5 is free while CPU0 PCID slot 0 (...) still maps 0x40000 -> frame 5"
            const [, step, cpu, slot, va, frame] = /\(step (\d+)\) changed entry .*CPU(\d+) PCID slot (\d+) .*maps (0x[0-9a-f]+) -> frame (\d+)/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'TLB', cpu: Number(cpu), slot: Number(slot), pfn: Number(frame) });
            expect(actual).toMatch(new RegExp(`CPU${cpu} PCID slot ${slot} \\(.*\\): TLB entry ${va} -> frame ${frame} \\(rw?\\), filled at step \\d+`));
            expect(actual).toMatch(new RegExp(`Frame ${frame}: (free since step|still allocated)`));
            expect(actual).toContain(`since step ${step}`); // the change the message names is in the actual state
            break;
          }
          case 'PSC entry outlives its link': {
            // "munmap of 0x40000+64 in P0 returned while CPU0 PCID slot 0 (P0) still caches the pud table at frame 2 for 0x40000, which P0 no longer links there"
            const [, cpu, slot, level, frame] = /CPU(\d+) PCID slot (\d+) .*caches the (\w+) table at frame (\d+)/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'PSC', cpu: Number(cpu), slot: Number(slot), table: Number(frame) });
            const table = `${level!.toUpperCase()} table`;
            expect(actual).toMatch(new RegExp(`CPU${cpu} PCID slot ${slot} \\(.*\\): paging-structure cache entry for the ${table} at frame ${frame}, cached at step \\d+`));
            expect(actual).toMatch(/\S+'s P[GUM]D entry \d+, which pointed at it, was cleared at step \d+/);
            break;
          }
          case 'stale upper entry': {
            // "pgd entry 1 of P0 points to table 3": that entry is still there, so the report must not say it was cleared
            const [, level, index, mm, frame] = /^(\w+) entry (\d+) of (\S+) points to table (\d+), which is free/.exec(v.message)!;
            const entry = `${mm}'s ${level!.toUpperCase()} entry ${index}`;
            expect(report.focus).toMatchObject({ holder: 'upper entry', table: Number(frame) });
            expect(actual).toMatch(new RegExp(`${entry} still points at it: never cleared since it was set at step \\d+`));
            expect(actual).not.toContain(`${entry}, which pointed at it, was cleared`);
            expect(actual).toMatch(new RegExp(`P[GUM]D table frame ${frame}: free since step`));
            break;
          }
          case 'value the reference forbids': {
            // "read of 0x40000 in P1 gave value 1; the reference allows SIGSEGV": the access, the value and what was allowed
            const [, kind, va, mm, value, allowed] = /^(read|write) of (0x[0-9a-f]+) in (\S+) gave value (\d+); the reference allows (.+)$/.exec(v.message)!;
            expect(actual).toContain(`${v.actor} on CPU`);
            expect(actual).toMatch(new RegExp(`${kind} ${va} = ${value} \\((walk|TLB hit)\\) at step ${v.step}`));
            expect(text).toContain(`At step ${v.step} the reference allows: ${allowed}.`);
            expect(text).toContain(`Reference memory for ${mm} ${va}:`);
            break;
          }
          case 'guest TLB beyond the primary': {
            // "CPU0's guest TLB (T3, V0) maps gfn 0 -> frame 4 writable, but the primary PTE of 0x10000 in P0 is not present"
            const [, cpu, vcpu, vm, gfn, frame, writable, va, mm, why] = /^CPU(\d+)'s guest TLB \((\S+), (\S+)\) maps gfn (\d+) -> frame (\d+)( writable)?, but the primary PTE of (0x[0-9a-f]+) in (\S+) (is not present|maps frame \d+|is read-only)$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'guest TLB', cpu: Number(cpu), vcpu, vm, gfn: Number(gfn), pfn: Number(frame), mm });
            expect(report.bad!.note).toMatch(new RegExp(`^CPU${cpu} guest TLB \\(${vcpu}\\) still maps gfn ${gfn} -> frame ${frame}\\b`));
            expect(actual).toMatch(new RegExp(`CPU${cpu} guest TLB \\(${vcpu}, vCPU of ${vm}\\): gfn ${gfn} -> frame ${frame} \\(${writable ? 'rw' : 'r'}\\), filled at step \\d+ \\(${vcpu}, guest_access\\.tdp_walk\\)`));
            // the SPTE it was filled from is gone (the zap that forgot the flush), and the primary PTE is what the message says it is
            expect(actual).toMatch(new RegExp(`${vm} SPTE for gfn ${gfn}: none since step \\d+ \\(\\S+, tdp_mmu_zap_leafs\\)`));
            const pte = new RegExp(`${mm} PTE for ${va} \\(gfn ${gfn} of ${vm}\\): (.*?)(?: since step \\d+ \\(.*?\\))?\\.(?: |$)`).exec(actual)?.[1];
            expect(pte, 'the primary PTE of the gfn').toBeDefined();
            if (why === 'is not present') expect(pte).toMatch(/^(none|frame \d+ \(prot none\))$/);
            else if (why === 'is read-only') expect(pte).toMatch(/ \(r\)$/);
            else expect(pte).toBe(`frame ${/\d+/.exec(why!)![0]}`);
            expect(actual).toMatch(new RegExp(`Frame ${frame}: (free since step|freed and reallocated|still allocated)`));
            expect(actual).toMatch(new RegExp(`${vcpu} since the SPTE was zapped at step \\d+: `));
            // the state panel of the violating step holds the entry and no SPTE for the gfn; the vCPU has its own lane
            const st = report.states[v.step]!.kvm!;
            expect(st.guestTlb[Number(cpu)]!.entries).toContain(`${vcpu} (${vm}): gfn ${gfn} -> frame ${frame}${writable ? '' : ' (r)'}`);
            expect(st.vms.find((x) => x.vm === vm)!.sptes.filter((x) => x.startsWith(`gfn ${gfn} `))).toEqual([]);
            expect(report.lanes.filter((l) => l.actors.includes(vcpu!))).toEqual([expect.objectContaining({ id: `vcpu-${vcpu}`, kind: 'vcpu', cpu: Number(cpu) })]);
            break;
          }
          case 'invalidate start never ended': {
            // "T2 returned from its operation with an invalidate_range_start on P0 never ended"
            const [, actor, mm] = /^(\S+) returned from its operation with an invalidate_range_start on (\S+) never ended$/.exec(v.message)!;
            const vm = report.states[v.step]!.kvm!.vms.find((x) => x.mm === mm)!.vm;
            expect(report.focus).toMatchObject({ holder: 'notifier', mm, vm, vcpu: actor });
            const open = new RegExp(`^${vm}: start on ${mm} left open, mmu_invalidate_in_progress (\\d+)$`).exec(report.bad!.note)?.[1];
            expect(Number(open)).toBeGreaterThan(0);
            // the actor's begin is named, no end of it follows, and the VM's counter is still up now
            expect(actual).toMatch(new RegExp(`${actor}'s invalidate_range_start reached ${vm} at step \\d+; no invalidate_range_end of ${actor} reached ${vm} after it\\.`));
            expect(actual).toContain(`mmu_invalidate_in_progress ${open}, range`);
            break;
          }
          case 'guest_memfd invalidation never ended': {
            // "T8 returned from its operation with a guest_memfd invalidation of V0 (kvm_gmem_invalidate_begin) never ended"
            const [, actor, vm] = /^(\S+) returned from its operation with a guest_memfd invalidation of (\S+) \(kvm_gmem_invalidate_begin\) never ended$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'notifier', vm, vcpu: actor, gmem: true });
            const open = new RegExp(`^${vm}: guest_memfd invalidation left open, mmu_invalidate_in_progress (\\d+)$`).exec(report.bad!.note)?.[1];
            expect(Number(open)).toBeGreaterThan(0);
            // the actor's begin is named, with no end of it after, and the count is still up with no range
            expect(actual).toMatch(new RegExp(`${actor}'s kvm_gmem_invalidate_begin\\(\\) raised ${vm}'s count at step \\d+; no kvm_gmem_invalidate_end\\(\\) of ${actor} lowered it after it\\.`));
            expect(actual).toContain(`mmu_invalidate_in_progress ${open}, range`);
            expect(actual).not.toContain('invalidate_range_start');
            break;
          }
          case 'in_progress left raised': {
            // "V0's mmu_invalidate_in_progress is 1 with 0 invalidate_range_start call(s) and guest_memfd invalidation(s) open on P0"
            const [, vm, n, mm] = /^(\S+)'s mmu_invalidate_in_progress is (\d+) with 0 invalidate_range_start call\(s\) and guest_memfd invalidation\(s\) open on (\S+)$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'notifier', vm, mm, raised: true });
            expect(report.bad!.note).toBe(`${vm}: count left raised, no invalidation open to end it, mmu_invalidate_in_progress ${n}`);
            // the begin nobody ended is named with its step, and so is the memslot update that left the end nothing to walk
            expect(actual).toMatch(new RegExp(`(\\S+)'s kvm_mmu_invalidate_begin\\(\\) raised ${vm}'s count at step \\d+; no kvm_mmu_invalidate_end\\(\\) of \\1 lowered it after it\\.`));
            expect(actual).toMatch(new RegExp(`A memslot of ${vm} left the active memslots at step \\d+ \\(\\S+, kvm_delete_memslot\\.rcu_assign_pointer\\)`));
            expect(actual).toContain(`mmu_invalidate_in_progress ${n}, range`);
            break;
          }
          case 'SPTE beyond the primary': {
            // "V0's SPTE for gfn 2 maps frame 7 writable, but the primary PTE of 0x14000 in P0 is not present"
            const [, vm, gfn, frame, writable, va, mm, why] = /^(\S+)'s SPTE for gfn (\d+) maps frame (\d+)( writable)?, but the primary PTE of (0x[0-9a-f]+) in (\S+) (is not present|is read-only|maps frame \d+)$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'SPTE', vm, mm, gfn: Number(gfn), pfn: Number(frame) });
            // the SPTE as installed, and the fault that installed it: its seq sample is a drawn step
            expect(actual).toMatch(new RegExp(`${vm} SPTE for gfn ${gfn}: frame ${frame} \\(${writable ? 'rw' : 'r'}\\), installed at step \\d+`));
            const pte = new RegExp(`${mm} PTE for ${va} \\(gfn ${gfn} of ${vm}\\): (.*?)(?: since step \\d+ \\(.*?\\))?\\.(?: |$)`).exec(actual)?.[1];
            expect(pte, 'the primary PTE of the gfn').toBeDefined();
            if (why === 'is not present') expect(pte).toMatch(/^(none|frame \d+ \(prot none\))$/);
            else if (why === 'is read-only') expect(pte).toMatch(/ \(r\)$/);
            else expect(pte).toBe(`frame ${/\d+/.exec(why!)![0]}`);
            expect(actual).toMatch(/'s fault sampled mmu_invalidate_seq at step \d+/);
            // the state panel of the violating step holds the SPTE
            expect(report.states[v.step]!.kvm!.vms.find((x) => x.vm === vm)!.sptes.some((x) => x.startsWith(`gfn ${gfn} -> frame ${frame}`))).toBe(true);
            break;
          }
          case 'invalidate end without its start': {
            // "V0's mmu_invalidate_in_progress is -1": the end came from the violating actor, with no start of its own before it
            const [, vm, n] = /^(\S+)'s mmu_invalidate_in_progress is (-\d+)$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'notifier', vm, vcpu: v.actor });
            expect(report.bad!.note).toBe(`${vm}: end on ${report.focus!.mm} without its start, mmu_invalidate_in_progress ${n}`);
            expect(actual).toMatch(new RegExp(`${v.actor}'s invalidate_range_end reached ${vm} at step ${v.step}; no invalidate_range_start of ${v.actor} reached ${vm} before it\\.`));
            // what let the VM's subscription in between: a registration at run time, or an attach into the msharefs i_mmap
            expect(actual).toMatch(/notifier joined \S+'s list at step \d+|A window joined the msharefs i_mmap at step \d+/);
            expect(actual).toContain(`mmu_invalidate_in_progress ${n}, range`);
            break;
          }
          case 'stale device ATC entry':
          case 'device ATC outlives the unmap': {
            // "D0's ATC (bound to P0) maps 0x80000 -> frame 6, which is free"; "munmap of 0x11000+1 in P0 returned while D0's ATC still maps 0x11000 -> frame 4"
            const [, dev, va, frame] = /(\S+)'s ATC.* (?:still )?maps (0x[0-9a-f]+) -> frame (\d+)/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'device TLB', device: dev, pfn: Number(frame) });
            const mm = report.focus!.mm!;
            expect(report.bad!.note).toMatch(new RegExp(`^${dev} ATC still maps ${va} -> frame ${frame}\\b`));
            // the entry and the IOMMU walk that filled it, the frame, the bound mm's PTE and what reached the device since it went
            expect(actual).toMatch(new RegExp(`${dev} ATC \\(bound to ${mm}\\): ${va} -> frame ${frame} \\(rw?\\), filled at step \\d+ \\(\\S+, iommu_dma_access\\.walk\\)`));
            expect(actual).toMatch(new RegExp(`Frame ${frame}: ${kindOf(cx) === 'stale device ATC entry' ? 'free since step' : '(free since step|still allocated)'}`));
            expect(actual).toMatch(new RegExp(`${mm} PTE for ${va}: none since step \\d+`));
            expect(actual).toMatch(new RegExp(`${dev} since the PTE was cleared at step \\d+: `));
            // the state panel of the violating step holds the entry
            expect(report.states[v.step]!.devices!.find((d) => d.device === dev)!.atc).toContain(`${va} -> frame ${frame}`);
            break;
          }
          case 'stale IOMMU PSC entry': {
            // "D0's IOMMU PSC (bound to P0) caches a pmd table at frame 4, which is free"
            const [, dev, mm, level, frame] = /^(\S+)'s IOMMU PSC \(bound to (\S+)\) caches a (\w+) table at frame (\d+), which is free/.exec(v.message)!;
            const table = `${level!.toUpperCase()} table`;
            expect(report.focus).toMatchObject({ holder: 'device PSC', device: dev, mm, table: Number(frame) });
            expect(report.bad!.note).toBe(`${dev} IOMMU PSC still caches a ${table} at frame ${frame}, which is free`);
            expect(actual).toMatch(new RegExp(`${dev} IOMMU PSC \\(bound to ${mm}\\): paging-structure cache entry for the ${table} at frame ${frame}, cached at step \\d+ \\(\\S+, iommu_dma_access\\.\\w+\\)`));
            expect(actual).toContain(`${table} frame ${frame}: free since step`);
            // the entry that linked it was cleared (by whichever mm owns the table), and what reached the device since
            expect(actual).toMatch(/\S+'s P[GUM]D entry \d+, which pointed at it, was cleared at step \d+/);
            expect(actual).toMatch(new RegExp(`${dev} since \\S+'s P[GUM]D entry \\d+ was cleared at step \\d+: `));
            expect(report.states[v.step]!.devices!.find((d) => d.device === dev)!.psc).toContain(`${table} frame ${frame}`);
            break;
          }
          case 'stale guest PSC entry': {
            // "CPU0's guest PSC (T0, root at frame 1) caches the TDP page table at frame 6, which is free"
            const [, cpu, vcpu, root, frame] = /^CPU(\d+)'s guest PSC \((\S+), root at frame (\d+)\) caches the TDP page table at frame (\d+), which is free$/.exec(v.message)!;
            expect(report.focus).toMatchObject({ holder: 'guest PSC', cpu: Number(cpu), vcpu, table: Number(frame) });
            const vm = report.focus!.vm!;
            expect(report.bad!.note).toBe(`CPU${cpu} guest PSC (${vcpu}) still caches the TDP page table at frame ${frame}, which is free`);
            expect(actual).toMatch(new RegExp(`CPU${cpu} guest PSC \\(${vcpu}, vCPU of ${vm}\\): the root at frame ${root} -> page table at frame ${frame}, filled at step \\d+ \\(${vcpu}, guest_access\\.tdp_walk\\)`));
            expect(actual).toContain(`TDP page table frame ${frame}: free since step`);
            // the page table left its root before it was freed, and the vCPU has a root on the frame the entry is tagged with
            expect(actual).toMatch(new RegExp(`page table at frame ${frame} removed at step \\d+`));
            expect(actual).toMatch(new RegExp(`${vcpu}: .*loaded the root at frame ${root} at step \\d+`));
            const st = report.states[v.step]!.kvm!;
            expect(st.guestPsc[Number(cpu)]!.entries).toContain(`${vcpu} (${vm}): root frame ${root} -> page table frame ${frame}`);
            expect(st.vcpus.find((x) => x.vcpu === vcpu)!.root).toBe(Number(root));
            break;
          }
          case 'lock rule broken': {
            // the lock the message says is missing is not held, the one it says is held is
            expect(report.actual[0]).toBe(`${v.message}.`);
            const held = report.actual.find((l) => l.startsWith(`Locks after step ${v.step}: `)) ?? '';
            const without = /without (\S+)$/.exec(v.message);
            const holding = /holding (\S+)$/.exec(v.message);
            expect(without ?? holding, 'the message names a lock').not.toBeNull();
            if (without) expect(held).not.toContain(`${without[1]} (`);
            if (holding) expect(held).toMatch(new RegExp(`${holding[1]!.replace(/[.]/g, '\\.')} \\(\\w\\) held by [^;]*${v.actor}`));
            break;
          }
        }
        expect(text.replace(/\\\n/g, '')).toContain(report.header.replay);
        expect(text.trimEnd().split('\n').at(-1)).toBe('Found by a model (mshare-check ' + report.header.modelVersion + '), not observed on hardware.');
      });

      it('renders complete, versioned JSON that holds the replayable file', () => {
        const j = JSON.parse(renderJson(report)) as Report;
        expect(j.format).toBe('mshare-check/report');
        expect(j.version).toBe(2);
        expect(j.states).toHaveLength(j.steps.length + 1);
        expect(j.steps).toHaveLength(cx.steps.length);
        expect(j.counterexample).toEqual(JSON.parse(readFileSync(path, 'utf8')));
        expect(j.diagram.length).toBeLessThan(j.steps.length);
      });
    });
  }
});

describe('reports of other kinds of finding', () => {
  const report = (sc: Scenario, policy: Policy, properties?: readonly Property[]) => {
    const result = runScenario(sc, { policy, properties: properties ?? PROPERTIES });
    const cx = buildCounterexample({ policy: 'linux', variant: null, campaign: null, signature: 'test', scenario: sc, result });
    const r = buildReport(cx, 'test/x.json', policy, properties);
    const text = renderText(r);
    checkLines(text);
    checkPartition(r);
    expect(r.sameAsSaved).toBe(true);
    return { r, text };
  };

  it('read-value on three CPUs: three columns, what the reference allows against the value read', () => {
    const sc = reusedFrameRead();
    const { r, text } = report(sc, applyVariant(linux, freeBeforeFlush), [propertyById('read-value')!]);
    expect(r.violation?.property).toBe('read-value');
    expect(text).toMatch(/CPU0 +CPU1 +CPU2/);
    expect(r.expected.join(' ')).toMatch(/the reference allows: /);
    expect(r.actual[0]).toMatch(/T1 on CPU1: read 0x10000 = 2 \(TLB hit\)/);
  });

  it('x86-TSO: says what other CPUs read of a CPU whose loaded_mm store is still in its store buffer', () => {
    const sc = parseScenario(readFileSync('test/scenarios/cve-2025-37964-switch-back.txt', 'utf8'), 'cve-2025-37964-switch-back.txt');
    const { r } = report(sc, applyVariant(linux, preFea4e317f9e7));
    expect(r.violation?.property).toBe('no-freed-frame-reachable');
    // CPU1 switched to P0; the sender read LOADED_MM_SWITCHING from memory, which pre-fea4e317f9e7 did not treat as "flush"
    expect(r.actual.join(' ')).toMatch(/CPU1 now: loaded_mm P0.*other CPUs read loaded_mm LOADED_MM_SWITCHING, not lazy \(still in its store buffer: loaded_mm=P0\)/);
  });

  it('protect-complete: a PROT_NONE PTE is named as such in the actual state, not as read-only', () => {
    const { r } = report(zapWhileCached(mprotect(X, 1, 'none')), applyVariant(linux, noIpi));
    expect(r.violation?.property).toBe('protect-complete');
    expect(r.actual.join(' ')).toMatch(/P0 PTE for 0x10000: frame \d+ \(prot none\) since step \d+/);
  });

  it('protect-complete: the entry still grants write', () => {
    const { r } = report(zapWhileCached(mprotect(X, 1, 'r')), applyVariant(linux, noIpi));
    expect(r.violation?.property).toBe('protect-complete');
    expect(r.bad!.note).toMatch(/^CPU1 TLB still grants rw on 0x10000$/);
  });

  it('lock-discipline: the PTE write without the PTL, with the locks held in braces', () => {
    const { r, text } = report(zapWhileCached(), applyVariant(linux, zapWithoutPtl));
    expect(r.violation?.property).toBe('lock-discipline');
    expect(text).toContain('{vma_lock:P0:0x10000}'); // the fault runs under the per-VMA lock
    expect(r.actual[0]).toMatch(/without ptl:/);
  });

  it('no-deadlock: the IPI sender and the spinner with IRQs off', () => {
    const { r } = report(gupPtlDeadlock(), applyVariant(linux, gupFastTakesPtl));
    expect(r.violation?.property).toBe('no-deadlock');
    expect(r.actual.join(' ')).toMatch(/held by T0/);
  });

  it('progress: a 300-step livelock collapses into a short diagram', () => {
    const { r, text } = report(neverMapsLivelock(), applyVariant(linux, faultNeverMaps));
    expect(r.violation?.property).toBe('progress');
    expect(r.steps).toHaveLength(300);
    expect(r.diagram.length).toBeLessThanOrEqual(15);
    // one round of the retry is drawn, then one entry stands for the rounds after it
    const at = r.diagram.findIndex((d) => d.repeats);
    const fold = r.diagram[at]!;
    const round = r.diagram.slice(at - fold.repeats!.entries, at);
    expect(round.map((d) => d.call[0])).toContain('#PF on read 0x10000');
    const roundSteps = round.at(-1)!.to - round[0]!.from + 1;
    expect(fold.to - fold.from + 1).toBe(roundSteps * fold.repeats!.times);
    expect(fold.repeats!.times).toBeGreaterThanOrEqual(30);
    expect(text).toContain(`repeats the ${fold.repeats!.entries} entries above ${fold.repeats!.times} more times`);
    expect(text).toMatch(/^Race \(300 steps in \d{1,2} entries/m);
    // the violating step keeps its own line, and nothing after the fold is folded
    expect(r.diagram.at(-1)).toMatchObject({ from: 300, to: 300 });
    expect(r.steps.filter((s) => s.shown).every((s) => s.n < fold.from || s.n > fold.to)).toBe(true);
    expect(text.split('\n').length).toBeLessThan(80);
  });

  it('secondary-subset (SPTE): the stale SPTE, when its fault sampled the seq, and the invalidation it missed', () => {
    const sc = guestAndZap([until('T0', 'get_user_pages.mmap_read_unlock'), run('T1'), run('T0')]);
    const { r, text } = report(sc, applyVariant(linux, preE930bffe95e1), [propertyById('secondary-subset')!]);
    expect(r.violation).toMatchObject({ property: 'secondary-subset', holder: 'SPTE', stepId: 'tdp_mmu_map_handle_target_level' });
    expect(r.focus).toMatchObject({ holder: 'SPTE', vm: 'V0', gfn: 0, mm: 'P0', vpn: X >> 12 });
    expect(r.bad!.note).toBe(`V0 SPTE still maps gfn 0 -> frame ${r.focus!.pfn}`);
    expect(text).toContain(`[V0 SPTE still maps gfn 0`);
    const actual = r.actual.join(' ');
    expect(actual).toMatch(new RegExp(`^V0 SPTE for gfn 0: frame ${r.focus!.pfn} \\(rw\\), installed at step ${r.violation!.step} \\(T0, tdp_mmu_map_handle_target_level\\)\\.`));
    expect(actual).toMatch(/P0 PTE for 0x10000 \(gfn 0 of V0\): none since step \d+ \(T1, zap_pte_range\.clear\)/);
    // the sample comes before the invalidation's end, which bumped the seq: the retry check (e930bffe95e1) is what was missing
    const sampled = Number(/T0's fault sampled mmu_invalidate_seq at step (\d+)/.exec(actual)![1]);
    const ended = Number(/mmu_invalidate_seq 0 -> 1, mmu_invalidate_in_progress 1 -> 0, range none at step (\d+) \(T1\)/.exec(actual)![1]);
    expect(sampled).toBeLessThan(ended);
    expect(ended).toBeLessThan(r.violation!.step);
    expect(r.states[r.violation!.step]!.kvm!.vms[0]!.sptes).toEqual([`gfn 0 -> frame ${r.focus!.pfn} (hva 0x10000)`]);
  });

  it('no-spte-in-window: the SPTE installed while mmu_invalidate_in_progress is raised over its gfn', () => {
    const sc = guestAndZap([until('T1', 'kvm_handle_hva_range.kvm_mmu_unlock'), run('T0'), run('T1')]);
    const { r } = report(sc, applyVariant(linux, preE930bffe95e1), [propertyById('no-spte-in-window')!]);
    expect(r.violation).toMatchObject({ property: 'no-spte-in-window', holder: 'SPTE' });
    expect(r.focus).toMatchObject({ holder: 'SPTE', vm: 'V0', gfn: 0 });
    expect(r.actual.at(-1)).toBe(`Now (step ${r.violation!.step}): V0 mmu_invalidate_seq 0, mmu_invalidate_in_progress 1, range gfn 0-0.`);
    expect(r.states[r.violation!.step]!.kvm!.vms[0]).toMatchObject({ mmuInvalidateInProgress: 1, mmuInvalidateRange: 'gfn 0-0' });
  });

  it('no-freed-frame-reachable (guest TLB): the entry, its zapped SPTE, the freed frame, and no request ever reached the vCPU', () => {
    const sc = guestAndZap([until('T0', 'guest_access.tdp_walk'), run('T1'), run('T0')]);
    const { r, text } = report(sc, applyVariant(linux, zapNoFlush), [propertyById('no-freed-frame-reachable')!]);
    expect(r.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'guest TLB' });
    const pfn = r.focus!.pfn!;
    expect(r.focus).toMatchObject({ holder: 'guest TLB', cpu: 0, vcpu: 'T0', vm: 'V0', gfn: 0 });
    expect(r.bad!.note).toBe(`CPU0 guest TLB (T0) still maps gfn 0 -> frame ${pfn}, which is free`);
    expect(text).toContain('CPU0 guest TLB (T0, vCPU of V0): gfn 0');
    const actual = r.actual.join(' ');
    expect(actual).toMatch(new RegExp(`Frame ${pfn}: free since step ${r.violation!.step} \\(T1, tlb_batch_pages_flush\\)`));
    expect(actual).toMatch(/T0 since the SPTE was zapped at step \d+: (?!.*KVM_REQ_TLB_FLUSH)/);
    // T0 is a vCPU: its own lane beside CPU0, and not in CPU0's
    expect(r.lanes.map((l) => [l.id, l.actors])).toContainEqual(['vcpu-T0', ['T0']]);
    expect(r.lanes.find((l) => l.id === 'cpu0')!.actors).not.toContain('T0');
  });

  it('a model error and a clean run render without a violation section', () => {
    const err = report(zapWhileCached(), applyVariant(linux, doubleUnlock));
    expect(err.r.verdict.result).toBe('model-error');
    expect(err.text).toMatch(/^Model error: /m);
    const ok = report(zapWhileCached(), linux);
    expect(ok.r.title).toBe('no violation in linux');
    expect(ok.text).not.toMatch(/^(Expected|Actual)/m);
  });
});

describe('folding rounds of a race diagram that repeat', () => {
  const item = (n: number, call: string, actor = 'T0'): DiagramItem => ({ from: n, to: n, actor, cpu: 0, call: [call], notes: [], locks: null });
  const sig = (d: DiagramItem) => `${d.actor} ${d.call.join()}`;
  const ababab = ['a', 'b', 'a', 'b', 'a', 'b', 'c'].map((c, i) => item(i + 1, c));
  const shape = (ds: DiagramItem[]) => ds.map((d) => [d.from, d.to, d.repeats ?? null]);

  it('draws the first round and folds the rounds after it, from three rounds on', () => {
    expect(shape(foldRepeats(ababab, sig, 7))).toEqual([[1, 1, null], [2, 2, null], [3, 6, { entries: 2, times: 2 }], [7, 7, null]]);
    expect(foldRepeats(ababab, sig, 7)[2]!.call).toEqual(['repeats the 2 entries above 2 more times']);
    expect(foldRepeats(ababab.slice(0, 4), sig, null)).toEqual(ababab.slice(0, 4));
  });

  it('never folds the violating step, nor entries of two actors', () => {
    expect(foldRepeats(ababab, sig, 6).some((d) => d.repeats)).toBe(false);
    const twoActors = ababab.slice(0, 6).map((d, i) => ({ ...d, actor: i % 2 ? 'T1' : 'T0' }));
    expect(foldRepeats(twoActors, sig, null)).toEqual(twoActors);
  });

  it('never folds the step that decides the race', () => {
    expect(shape(foldRepeats(ababab, sig, null))).toContainEqual([3, 6, { entries: 2, times: 2 }]);
    const kept = foldRepeats(ababab, sig, null, [4]);
    expect(kept.some((d) => d.repeats)).toBe(false);
    expect(shape(kept)).toContainEqual([4, 4, null]);
  });
});

describe('npm run goldens', () => {
  it('prints the lines a golden lost and gained, under the line they start at', () => {
    expect(lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne')).toEqual(['@@ line 2', '-b', '+B', '@@ line 5', '+e']);
    expect(lineDiff('same', 'same')).toEqual([]);
  });
});

describe('text layout', () => {
  it('wraps words and cuts a word longer than the line', () => {
    expect(wrap('aaa bbb ccc', 7, 2)).toEqual(['aaa bbb', '  ccc']);
    expect(wrap('x'.repeat(10), 4)).toEqual(['xxxx', 'xxxx', 'xx']);
  });

  it('splits a long shell command so that it pastes back as one', () => {
    const cmd = 'npx mshare-check replay counterexamples/linux+skip-lazy-on-table-free-no-freed-table-reachable-23323f1a38fc.json';
    const lines = shellLines(cmd);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(WIDTH);
    expect(lines.join('\n').replace(/\\\n/g, '').trimStart()).toBe(cmd);
    expect(lines.slice(1).every((l) => !l.startsWith(' '))).toBe(true);
  });

  it('refuses a line over 72 columns or outside ASCII', () => {
    expect(() => assertPlain('x'.repeat(73))).toThrow(/73 columns/);
    expect(() => assertPlain('caf\u00e9')).toThrow(/ASCII/);
  });
});

describe('mshare-check report', () => {
  const file = join(DIR, files.find((f) => f.startsWith('linux+free-before-flush-'))!);
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err };
  };

  // found with variants/free-before-flush.ts: its embedded code runs only when the user says so.
  const mine = ['--variant', 'variants/free-before-flush.ts'];

  it('refuses to run the embedded variant unless told to', async () => {
    expect(file).toContain('linux+free-before-flush');
    const r = await cli('report', file);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/embeds variant 'free-before-flush' \(sha256 [0-9a-f]{12}, \d+ bytes of TypeScript\) that would run as code/);
    expect(r.out).toBe('');
  });

  it('prints the text report and exits 1 for a violation', async () => {
    const r = await cli('report', file, '--format', 'text', ...mine);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^variant: free-before-flush \(variants\/free-before-flush\.ts\), sha256 [0-9a-f]{64}, \d+ bytes of TypeScript/);
    expect(r.out).toMatch(/^mshare-check: /);
    expect(r.out).toContain('-- >8 -- scenario');
  });

  it('prints the JSON report', async () => {
    const r = await cli('report', file, '--format', 'json', ...mine);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).format).toBe('mshare-check/report');
  });

  it('rejects an unknown format with one error line and exit 2', async () => {
    const r = await cli('report', file, '--format', 'pdf', ...mine);
    expect(r.code).toBe(2);
    expect(r.err).toEqual(["mshare-check: unknown --format 'pdf' (text, json or html)"]);
    expect(r.out).toBe('');
  });

  it('writes the HTML report to --out, built from the JSON report', async () => {
    const out = join(tmp(), 'r.html');
    const r = await cli('report', file, '--format', 'html', '--out', out, ...mine);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.at(-1)).toBe(`report: wrote ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    const json = await cli('report', file, '--format', 'json', ...mine);
    expect(pageData(html).report).toEqual(JSON.parse(json.out));
  });

  it('writes the text report to --out as it prints it', async () => {
    const out = join(tmp(), 'r.txt');
    const [w, p] = [await cli('report', file, '--out', out, ...mine), await cli('report', file, ...mine)];
    expect(w.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe(`${p.out}\n`);
  });
});
