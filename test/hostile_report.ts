// Fixtures of the HTML report's tests (reports/render_html.test.ts and
// test/html_report.browser.test.ts): a saved counterexample carrying
// script- and HTML-laden strings, a KVM report whose VM name carries them,
// and the page's data block as the page's own script reads it.

import { join } from 'node:path';
import { loadCounterexample, type CounterexampleFile } from '../reports/counterexample.js';
import { CORPUS_DIR } from '../reports/goldens.js';
import type { HtmlData } from '../reports/render_html.js';
import type { Report } from '../reports/report.js';

/** The JSON in the page's data block, as the browser's JSON.parse(textContent) reads it. */
export function pageData(html: string): HtmlData {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  if (!m) throw new Error('no data block');
  return JSON.parse(m[1]!) as HtmlData;
}

/** Strings a hostile counterexample file can carry into a report (all printable ASCII, as the schema allows). */
export const HOSTILE = {
  seed: '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><!--',
  signature: "unmap-complete|TLB|sys_munmap<svg onload=window.__pwned=3>'\"&amp;<script>window.__pwned=4</script>",
  file: "counterexamples/x<img src=y onerror=window.__pwned=5>'.json",
};

/** A saved counterexample with hostile strings in every free-text field the report prints. */
export function hostileCounterexample(): CounterexampleFile {
  const cx = loadCounterexample(join(CORPUS_DIR, 'mshare-v3-unmap-complete-5aa7a48ab7b3.json'));
  return { ...cx, campaign: { ...cx.campaign!, seed: HOSTILE.seed }, signature: HOSTILE.signature };
}


/** The saved KVM finding whose report the browser test opens. */
export const KVM_FILE = 'linux+pre-a835429cda91-zap-no-flush-secondary-subset-4ff1eab4ea2f.json';

/**
 * A VM name laden with markup. A counterexample file cannot carry it (names
 * are letters, digits and _ . @ : -, reports/scenario_schema.ts), so it is
 * put into a report after the report is built: what it tests is that the
 * page's secondary-MMU panel and vCPU lanes draw strings as text.
 */
export const HOSTILE_VM = '<img src=x onerror=window.__pwned=7>';

/** `r` with its VM, V0, renamed to HOSTILE_VM everywhere (no quote or backslash in the name, so the JSON stays valid). */
export const hostileKvmReport = (r: Report): Report => JSON.parse(JSON.stringify(r).replaceAll('V0', HOSTILE_VM)) as Report;
