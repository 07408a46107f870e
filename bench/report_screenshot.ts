// The screenshot of an HTML report in the README (docs/report-html.png):
// renders one saved counterexample's report as `mshare-check report FILE
// --format html` does, opens it in the headless Chromium of the browser
// test (test/html_report.browser.test.ts), with the step cursor on the
// violating step, and saves a PNG. Run: npx tsx bench/report_screenshot.ts

import chromium from '@sparticuz/chromium';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import puppeteer from 'puppeteer-core';
import { loadCounterexample } from '../reports/counterexample.js';
import { renderHtml } from '../reports/render_html.js';
import { buildReport, policyFor } from '../reports/report.js';

export const SCREENSHOT_OF = 'counterexamples/mshare-v3-cpumask-union-shared-table-flush-57f1e7adbf83.json';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const cx = loadCounterexample(join(ROOT, SCREENSHOT_OF));
const html = join(mkdtempSync(join(tmpdir(), 'mshare-report-shot-')), 'report.html');
writeFileSync(html, renderHtml(buildReport(cx, SCREENSHOT_OF, await policyFor(cx))));
const browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true, defaultViewport: { width: 1400, height: 900 } });
try {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('html[data-ready]');
  // The timeline and the state panel at the violating step, at the top of the window.
  await page.evaluate(() => document.getElementById('main')!.scrollIntoView());
  await page.screenshot({ path: join(ROOT, 'docs', 'report-html.png') });
  console.log('wrote docs/report-html.png');
} finally {
  await browser.close();
}
