// The HTML report without a browser: every saved counterexample renders;
// the page embeds exactly the JSON report (one data model, two renderers);
// the escaping of untrusted strings; the page fetches nothing. The browser
// half (lanes, cursor, state panel, requests, scripts that must not run)
// is test/html_report.browser.test.ts.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostileCounterexample, HOSTILE, HOSTILE_VM, KVM_FILE, pageData } from '../test/hostile_report.js';
import { loadCounterexample } from './counterexample.js';
import { corpusFiles, CORPUS_DIR } from './goldens.js';
import { escapeHtml, renderHtml, scriptJson } from './render_html.js';
import { renderJson } from './render_json.js';
import { renderText } from './render_text.js';
import { buildReport, policyFor } from './report.js';

describe('the HTML report', () => {
  it('escapes text for markup and JSON for a script element', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const tricky = { s: '</script><!-- \u2028\u2029 & >' };
    const j = scriptJson(tricky);
    expect(j).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(j)).toEqual(tricky);
  });

  for (const f of corpusFiles()) {
    it(`renders ${f}, embedding the JSON report and the text report`, async () => {
      const path = `counterexamples/${f}`;
      const cx = loadCounterexample(join(CORPUS_DIR, f));
      const report = buildReport(cx, path, await policyFor(cx));
      const html = renderHtml(report);
      const data = pageData(html);
      expect(data.report).toEqual(JSON.parse(renderJson(report)));
      expect(data.text).toBe(renderText(report));
      expect(data.report.states).toHaveLength(report.steps.length + 1);
      // every actor in one lane
      for (const s of report.steps) expect(report.lanes.filter((l) => l.actors.includes(s.actor)), s.actor).toHaveLength(1);
    });
  }

  it('lets no string of a hostile file out of its escaping', async () => {
    const cx = hostileCounterexample();
    const report = buildReport(cx, HOSTILE.file, await policyFor(cx));
    const html = renderHtml(report);
    // Only the page's own two script elements, and no markup from the file.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    for (const s of Object.values(HOSTILE)) expect(html).not.toContain(s);
    expect(html).not.toMatch(/<(img|svg)/i);
    // The strings are all there, as data.
    const data = pageData(html);
    expect(data.report.counterexample.campaign!.seed).toBe(HOSTILE.seed);
    expect(data.report.header.signature).toBe(HOSTILE.signature);
    expect(data.report.header.file).toBe(HOSTILE.file);
    expect(data.report.header.found).toContain(HOSTILE.seed);
  });

  it('never gets markup into the secondary-MMU panel from a file: a VM name with markup is refused on load', () => {
    const cx = JSON.parse(readFileSync(join(CORPUS_DIR, KVM_FILE), 'utf8')) as { scenario: { setup: { kind: string; name?: string }[] } };
    cx.scenario.setup.find((x) => x.kind === 'vm')!.name = HOSTILE_VM;
    const file = join(mkdtempSync(join(tmpdir(), 'mshare-html-')), 'vm.json');
    writeFileSync(file, JSON.stringify(cx, null, 2));
    expect(() => loadCounterexample(file)).toThrow(/scenario\.setup\.\d+\.name.*a name \(letters, digits/);
  });

    it('allows only its own script and style, by hash, and no fetch of any kind', async () => {
    const cx = loadCounterexample(join(CORPUS_DIR, corpusFiles()[0]!));
    const html = renderHtml(buildReport(cx, 'x.json', await policyFor(cx)));
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1]!.replaceAll('&#39;', "'");
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const js = readFileSync(new URL('./html/page.js', import.meta.url), 'utf8');
    const css = readFileSync(new URL('./html/page.css', import.meta.url), 'utf8');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src ${hash(js)};`);
    expect(csp).toContain(`style-src ${hash(css)};`);
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    expect(html).toContain(`<script>${js}</script>`);
    // Nothing in the script that the HTML parser reads inside a script element (a comment opener puts a later </script> out of reach).
    expect(js).not.toMatch(/<!--|<script|<\/script/i);
    // No URL for a browser to follow: no src=, href= or url( anywhere in the page's own markup, style and script.
    expect(`${js}\n${css}`).not.toMatch(/\bsrc=|href=|url\(|@import|fetch\(|XMLHttpRequest|innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
});
