// The report as one self-contained HTML page (issue 16): the same Report
// object render_json prints, embedded whole, and drawn by a shipped
// script (html/page.js) with an inline style (html/page.css). No network,
// no fonts, no images: the page can be attached to a bug and opened
// offline.
//
// A counterexample is untrusted input, so:
//   1. the data sits in <script type="application/json">, which the
//      browser never runs, with '<', '>', '&' and U+2028/U+2029 written as
//      \u escapes: no string in it can close the block or open a comment;
//   2. the script builds the page with createElement and textContent, never
//      innerHTML, so no string is parsed as markup;
//   3. a Content-Security-Policy allows exactly the shipped script and
//      style by their sha256 and no fetch, frame, image, font or form: a
//      script that got in anyway would not run, and nothing leaves the page;
//   4. the only text written into the markup here (the title and the
//      text report for browsers without script) goes through escapeHtml.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { renderText } from './render_text.js';
import type { Report } from './report.js';

const asset = (name: string) => readFileSync(new URL(`./html/${name}`, import.meta.url), 'utf8');

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text for HTML content or a quoted attribute value. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ENTITY[c]!);

/** JSON that is safe inside a <script> element: nothing in it reads as a tag, a comment or a line break to the HTML parser. */
export const scriptJson = (v: unknown) => JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** What the page's data block holds: the report (as --format json prints it) and its text rendering. */
export interface HtmlData {
  report: Report;
  text: string;
}

export function renderHtml(r: Report): string {
  const js = asset('page.js');
  const css = asset('page.css');
  const text = renderText(r);
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "img-src 'none'", "font-src 'none'", "connect-src 'none'", "frame-src 'none'", "form-action 'none'", "base-uri 'none'",
  ].join('; ');
  const data: HtmlData = { report: r, text };
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`mshare-check: ${r.title}`)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    `<noscript><pre>${escapeHtml(text)}</pre></noscript>`,
    '<main id="app"></main>',
    `<script type="application/json" id="report-data">${scriptJson(data)}</script>`,
    `<script>${js}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
