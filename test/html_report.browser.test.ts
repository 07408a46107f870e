// The HTML report in a real headless Chromium (puppeteer-core driving the
// Chromium that @sparticuz/chromium ships inside its npm package: nothing
// to install beyond `npm ci`). One browser for every case. For saved
// counterexamples of each policy family, and for one carrying script- and
// HTML-laden strings, the test opens the page from a file and checks:
// the lanes and step boxes against the JSON report, the violating step,
// the state panel against Report.states as the cursor moves by keyboard
// and by click, that no request leaves the page and no content-security
// violation or script error happens, and that no hostile string ran.
// Screenshots go to artifacts/html-report/ (gitignored).

import chromium from '@sparticuz/chromium';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCounterexample, type CounterexampleFile } from '../reports/counterexample.js';
import { CORPUS_DIR } from '../reports/goldens.js';
import { renderHtml } from '../reports/render_html.js';
import { renderJson } from '../reports/render_json.js';
import { buildReport, policyFor, type Report } from '../reports/report.js';
import type { StateView } from '../reports/state_view.js';
import { HOSTILE, HOSTILE_VM, hostileCounterexample, hostileKvmReport, KVM_FILE } from './hostile_report.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/html-report/', import.meta.url));

interface Case {
  name: string;
  family: 'linux' | 'mshare' | 'kvm' | 'sva';
  cx: () => CounterexampleFile;
  file: string;
}
const saved = (f: string, family: Case['family']): Case => ({ name: f.replace(/\.json$/, ''), family, cx: () => loadCounterexample(join(CORPUS_DIR, f)), file: `counterexamples/${f}` });
const CASES: Case[] = [
  saved('linux+pcid-no-gen-check-no-freed-frame-reachable-83d6043a1992.json', 'linux'),
  saved('linux+no-ipi-no-freed-table-reachable-ce6fa59043eb.json', 'linux'),
  saved('mshare-v3-cpumask-union-shared-table-flush-57f1e7adbf83.json', 'mshare'),
  saved('mshare-2026-unmap-complete-8b781a2268f4.json', 'mshare'),
  saved(KVM_FILE, 'kvm'),
  saved('mshare-v3-no-freed-table-reachable-8933565c63b0.json', 'sva'),
  saved('linux+flush-tlb-mm-range-no-secondary-tlbs-no-freed-frame-reachable-bc3d9f03f982.json', 'sva'),
  { name: 'hostile', family: 'mshare', cx: hostileCounterexample, file: HOSTILE.file },
];

/** What the state panel shows, field by field, as Report.states says it should. */
function expectedFields(st: StateView): Record<string, string[]> {
  const f: Record<string, string[]> = { windows: st.windows, locks: st.locks, tables: st.tables.map((t) => `${t.table} frame ${t.frame}: ${t.sharers.join(', ')}`) };
  for (const m of st.mms) {
    f[`mm.${m.mm}.tlb_gen`] = [`tlb_gen ${m.tlbGen}`];
    f[`mm.${m.mm}.cpumask`] = [`mm_cpumask {${m.cpumask.map((c) => `CPU${c}`).join(', ')}}`];
    f[`mm.${m.mm}.vmas`] = m.vmas;
    f[`mm.${m.mm}.ptes`] = m.ptes;
  }
  if (st.kvm) {
    for (const vm of st.kvm.vms) {
      f[`vm.${vm.vm}.mmu_invalidate`] = [`mmu_invalidate_seq ${vm.mmuInvalidateSeq}, mmu_invalidate_in_progress ${vm.mmuInvalidateInProgress}, range ${vm.mmuInvalidateRange}`];
      f[`vm.${vm.vm}.memslots`] = vm.memslots;
      f[`vm.${vm.vm}.sptes`] = vm.sptes;
      f[`vm.${vm.vm}.roots`] = vm.roots;
    }
    f.vcpus = st.kvm.vcpus.map((v) => `${v.vcpu} (${v.vm}, CPU${v.cpu}): ${v.mode}${v.inGuest ? ', in the guest' : ''}; requests: ${v.requests.join(', ') || 'none'}${v.kicked ? '; kicked' : ''}; root: ${v.root === null ? 'none' : `frame ${v.root}`}`);
    for (const g of st.kvm.guestTlb) f[`cpu${g.cpu}.guest_tlb`] = g.entries;
    for (const g of st.kvm.guestPsc) f[`cpu${g.cpu}.guest_psc`] = g.entries;
  }
  for (const d of st.devices ?? []) {
    f[`dev.${d.device}.atc`] = d.atc;
    f[`dev.${d.device}.psc`] = d.psc;
  }
  for (const c of st.cpus) {
    for (const s of c.slots) {
      f[`cpu${c.cpu}.slot${s.slot}.tlb_gen`] = [String(s.tlbGen)];
      f[`cpu${c.cpu}.slot${s.slot}.tlb`] = s.tlb;
      f[`cpu${c.cpu}.slot${s.slot}.psc`] = s.psc;
    }
  }
  return f;
}

/** The state panel's fields: a list's items, or a paragraph's text; an empty list shows as a "none"/"-" paragraph. */
/**
 * A page for the report `html`, written to `path`: every request but the
 * page's own navigation is recorded and aborted, and page errors are
 * recorded, so a test can check that nothing left the page and nothing threw.
 */
async function openIsolated(browser: Browser, path: string, html: string) {
  writeFileSync(path, html);
  const url = pathToFileURL(path).href;
  const page = await browser.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url() === url && req.isNavigationRequest()) return void req.continue();
    requests.push(req.url());
    void req.abort();
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
  return { page, url, requests, errors };
}

async function panelFields(page: Page): Promise<Record<string, string[]>> {
  return page.$$eval('#state [data-field]', (els) =>
    Object.fromEntries(
      els.map((e) => {
        const field = e.getAttribute('data-field')!;
        if (e.tagName === 'UL') return [field, [...e.children].map((li) => li.textContent ?? '')];
        const empty = e.classList.contains('empty');
        return [field, empty ? [] : [e.textContent ?? '']];
      }),
    ),
  );
}

async function checkPanel(page: Page, report: Report, n: number) {
  expect(await page.$eval('#timeline', (t) => t.getAttribute('data-cursor'))).toBe(String(n));
  expect(await page.$eval('#state-title', (t) => t.getAttribute('data-step'))).toBe(String(n));
  const shown = await panelFields(page);
  const expected = expectedFields(report.states[n]!);
  for (const [field, items] of Object.entries(expected)) expect(shown[field], `step ${n}: ${field}`).toEqual(items);
  // The secondary MMU's fields are there exactly when the run has a VM.
  const kvmFields = (fs: object) => Object.keys(fs).filter((k) => /^(vm\.|vcpus$|cpu\d+\.guest_(tlb|psc)$)/.test(k)).sort();
  expect(kvmFields(shown), `step ${n}: secondary-MMU fields`).toEqual(kvmFields(expected));
  if (n > 0) expect(await page.$$eval('tr.cursor', (rows) => rows.map((r) => r.getAttribute('data-n')))).toEqual([String(n)]);
}

/** The marked entries of the state panel, by field. */
const focusItems = (page: Page) => page.$$eval('#state li.focus', (lis) => lis.map((li) => [li.closest('[data-field]')!.getAttribute('data-field'), li.textContent]));

/**
 * A KVM finding: each vCPU thread in its own lane; the cursor, moved by
 * keyboard from the initial state to the violating step, shows the
 * guest-TLB entry or SPTE the violation is about, marked, in the panel;
 * and before the step that filled it the panel does not show it.
 */
async function checkKvm(page: Page, json: Report) {
  const f = json.focus!;
  expect(f.vm, 'the violation is about a secondary-MMU entry').toBeDefined();
  for (const a of json.actors.filter((x) => x.vcpu !== undefined)) {
    expect(await page.$eval(`#timeline th.lane[data-lane="vcpu-${a.name}"]`, (t) => t.textContent)).toBe(`${a.name} (${a.proc}): vCPU of ${a.vcpu} on CPU${a.cpu}`);
    const lanes = await page.$$eval(`#timeline .step[data-actor="${a.name}"]`, (els) => [...new Set(els.map((e) => e.getAttribute('data-lane')))]);
    expect(lanes).toEqual([`vcpu-${a.name}`]);
  }
  const [field, entry] = f.holder === 'guest TLB' ? [`cpu${f.cpu}.guest_tlb`, `${f.vcpu} (${f.vm}): gfn ${f.gfn} -> frame ${f.pfn}`] : [`vm.${f.vm}.sptes`, `gfn ${f.gfn} -> frame ${f.pfn}`];
  const holds = (n: number) => {
    const st = json.states[n]!.kvm!;
    const items = f.holder === 'guest TLB' ? st.guestTlb[f.cpu!]!.entries : st.vms.find((x) => x.vm === f.vm)!.sptes;
    return items.filter((x) => x === entry || x.startsWith(`${entry} `));
  };
  const v = json.violation!;
  const first = json.states.findIndex((_, n) => n > 0 && holds(n).length > 0 && holds(n - 1).length === 0 && json.states.slice(n, v.step + 1).every((__, i) => holds(n + i).length > 0));
  expect(first, 'the step that made the entry').toBeGreaterThan(0);
  await page.focus('#timeline');
  await page.keyboard.press('Home');
  await checkPanel(page, json, 0);
  expect(await focusItems(page)).toEqual([]);
  for (let n = 1; n <= v.step; n++) {
    await page.keyboard.press('ArrowDown');
    if (n === first - 1 || n === first || n === v.step) {
      await checkPanel(page, json, n);
      expect(await focusItems(page), `step ${n}`).toEqual(n < first ? [] : holds(n).map((x) => [field, x]));
    }
  }
  // At the violating step: the entry is marked, and it is the one the actual state names.
  const marked = await focusItems(page);
  expect(marked).toHaveLength(1);
  expect(json.actual[0]).toContain(`gfn ${f.gfn} -> frame ${f.pfn}`);
  if (f.holder === 'guest TLB') {
    // the SPTE it was filled from is gone from the panel: the guest TLB is beyond the secondary MMU, which is beyond the primary
    expect((await panelFields(page))[`vm.${f.vm}.sptes`]!.filter((x) => x.startsWith(`gfn ${f.gfn} `))).toEqual([]);
  }
}

/**
 * An SVA device finding: the cursor, moved by keyboard to the violating
 * step, shows the device's ATC or IOMMU PSC entry the violation is about,
 * marked, and nothing is marked in the initial state.
 */
async function checkSva(page: Page, json: Report) {
  const f = json.focus!;
  expect(f.device, 'the violation is about a device entry').toBeDefined();
  const field = f.holder === 'device PSC' ? `dev.${f.device}.psc` : `dev.${f.device}.atc`;
  const v = json.violation!;
  await page.focus('#timeline');
  await page.keyboard.press('Home');
  await checkPanel(page, json, 0);
  expect(await focusItems(page)).toEqual([]);
  for (let n = 1; n <= v.step; n++) await page.keyboard.press('ArrowDown');
  await checkPanel(page, json, v.step);
  const d = json.states[v.step]!.devices!.find((x) => x.device === f.device)!;
  const entry = f.holder === 'device PSC' ? d.psc.filter((x) => x.endsWith(` frame ${f.table}`)) : d.atc.filter((x) => x.includes(` -> frame ${f.pfn}`));
  expect(entry).toHaveLength(1);
  expect(await focusItems(page)).toEqual([[field, entry[0]]]);
}

describe('the HTML report in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true, defaultViewport: { width: 1500, height: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('covers each policy family', () => {
    expect(new Set(CASES.map((c) => c.family))).toEqual(new Set(['linux', 'mshare', 'kvm', 'sva']));
  });

  for (const c of CASES) {
    it(`shows ${c.name}: lanes, steps and the state at each step, and nothing leaves the page`, async () => {
      const cx = c.cx();
      const report = buildReport(cx, c.file, await policyFor(cx));
      const json = JSON.parse(renderJson(report)) as Report;
      const { page, url, requests, errors } = await openIsolated(browser, join(ARTIFACTS, `${c.name}.html`), renderHtml(report));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') errors.push(`console ${m.type()}: ${m.text()}`);
      });
      // Run by the test harness (DevTools), outside the page's policy: records what the policy blocked and any alert().
      await page.evaluateOnNewDocument(() => {
        const w = window as unknown as { __csp: string[]; alert: (m: string) => void };
        w.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto(url);
      await page.waitForSelector('html[data-ready]', { timeout: 10_000 });

      // Lanes and step boxes are the JSON report's.
      const lanes = await page.$$eval('#timeline th.lane', (ths) => ths.map((t) => [t.getAttribute('data-lane'), t.textContent]));
      expect(lanes).toEqual(json.lanes.map((l) => [l.id, l.title]));
      const boxes = await page.$$eval('#timeline .step', (els) => els.map((e) => ({ n: Number(e.getAttribute('data-n')), lane: e.getAttribute('data-lane'), actor: e.getAttribute('data-actor'), id: e.getAttribute('data-step-id'), call: e.querySelector('.call')!.textContent })));
      expect(boxes).toEqual(json.steps.map((s) => ({ n: s.n, lane: json.lanes.find((l) => l.actors.includes(s.actor))!.id, actor: s.actor, id: s.id, call: s.call[0] })));
      // The violating step, highlighted; the cursor starts on it.
      const v = json.violation!;
      expect(await page.$$eval('.step.violation', (els) => els.map((e) => Number(e.getAttribute('data-n'))))).toEqual([v.step]);
      expect(await page.$eval('.step.violation', (e) => e.textContent)).toContain(v.message);
      await checkPanel(page, json, v.step);
      // Expected against actual, the scenario and the replay command.
      expect(await page.$$eval('[data-field=expected] li', (l) => l.map((x) => x.textContent))).toEqual(json.expected);
      expect(await page.$$eval('[data-field=actual] li', (l) => l.map((x) => x.textContent))).toEqual(json.actual);
      expect(await page.$eval('#scenario-text', (e) => e.textContent)).toBe(json.scenario.text);
      expect(await page.$eval('#scenario-replay', (e) => e.textContent)).toBe(json.scenario.replay);
      expect(await page.$eval('#replay', (e) => e.textContent)).toBe(json.header.replay);
      expect(await page.$$eval('button.copy', (b) => b.length)).toBeGreaterThanOrEqual(2);

      // The cursor, by keyboard.
      await page.focus('#timeline');
      await page.keyboard.press('Home');
      await checkPanel(page, json, 0);
      for (let i = 1; i <= 3; i++) {
        await page.keyboard.press('ArrowDown');
        await checkPanel(page, json, i);
      }
      await page.keyboard.press('k');
      await checkPanel(page, json, 2);
      await page.keyboard.press('PageDown');
      await checkPanel(page, json, 12);
      await page.keyboard.press('End');
      await checkPanel(page, json, json.steps.length);
      await page.keyboard.press('ArrowDown'); // stays on the last step
      await checkPanel(page, json, json.steps.length);
      await page.keyboard.press('v');
      await checkPanel(page, json, v.step);
      // ... and by click.
      const mid = Math.ceil(json.steps.length / 2);
      // scrolled to the middle of the view first, as a reader would: near the top, the sticky lane header covers it
      await page.$eval(`#timeline .step[data-n="${mid}"]`, (e) => e.scrollIntoView({ block: 'center' }));
      await page.click(`#timeline .step[data-n="${mid}"]`);
      await checkPanel(page, json, mid);
      // Back on the violating step for the screenshot.
      await page.keyboard.press('v');
      await page.screenshot({ path: join(ARTIFACTS, `${c.name}.png`) });

      expect(requests, 'requests leaving the page').toEqual([]);
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
      // Only the page's own scripts, and nothing a hostile string could have made run or made appear.
      expect(await page.$$eval('script', (s) => s.map((x) => x.getAttribute('type') ?? 'js'))).toEqual(['application/json', 'js']);
      expect(await page.$$('img, svg, iframe, object, embed, link, base, form')).toHaveLength(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      if (c.family === 'kvm') await checkKvm(page, json);
      if (c.family === 'sva') await checkSva(page, json);
      if (c.name === 'hostile') {
        expect(await page.$eval('[data-field=found]', (e) => e.textContent)).toContain(HOSTILE.seed);
        expect(await page.$eval('[data-field=signature]', (e) => e.textContent)).toBe(HOSTILE.signature);
        expect(await page.$eval('[data-field=file]', (e) => e.textContent)).toBe(HOSTILE.file);
      }
      await page.close();
    }, 60_000);
  }
  it('draws the secondary-MMU panel and the vCPU lane as text: markup in a VM name is shown, never run', async () => {
    const cx = loadCounterexample(join(CORPUS_DIR, KVM_FILE));
    const report = hostileKvmReport(buildReport(cx, `counterexamples/${KVM_FILE}`, await policyFor(cx)));
    const { page, url, requests, errors } = await openIsolated(browser, join(ARTIFACTS, 'hostile-kvm.html'), renderHtml(report));
    await page.goto(url);
    await page.waitForSelector('html[data-ready]', { timeout: 10_000 });
    // The cursor starts on the violating step: the panel names the VM, its vCPU and the marked guest-TLB entry, all as text.
    expect(await page.$$eval('#state .vm h4', (els) => els.map((e) => e.textContent))).toEqual([`${HOSTILE_VM} (memory of P0)`]);
    const root = report.states[report.violation!.step]!.kvm!.vcpus[0]!.root;
    expect(root).not.toBeNull();
    expect((await panelFields(page)).vcpus).toEqual([`T3 (${HOSTILE_VM}, CPU0): OUTSIDE_GUEST_MODE; requests: none; root: frame ${root}`]);
    expect(await focusItems(page)).toEqual([['cpu0.guest_tlb', `T3 (${HOSTILE_VM}): gfn 0 -> frame 5`]]);
    expect(await page.$eval('#timeline th.lane[data-lane="vcpu-T3"]', (t) => t.textContent)).toBe(`T3 (P0): vCPU of ${HOSTILE_VM} on CPU0`);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.$$eval('script', (x) => x.map((e) => e.getAttribute('type') ?? 'js'))).toEqual(['application/json', 'js']);
    expect(await page.$$('img, svg, iframe, object, embed, link, base, form')).toHaveLength(0);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
