// The script of the HTML report (render_html.ts inlines it; the page's
// Content-Security-Policy allows this script and nothing else). It reads
// the report from the JSON data block (id report-data) and builds
// every element with createElement and textContent: no string from the
// counterexample is ever parsed as HTML. Plain browser JavaScript, no
// dependencies, no network.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var r = data.report;
  var app = document.getElementById('app');

  /** h('div', {class: 'x', 'data-n': 3}, child...): children are nodes or text. */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, String(attrs[k]));
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { add(el, x); });
    else if (typeof c === 'string' || typeof c === 'number') el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c);
  }
  /** A list field; `focus(item)` marks the entry the violation is about. */
  function list(field, items, empty, focus) {
    if (!items.length) return h('p', { class: 'empty', 'data-field': field }, empty || 'none');
    return h('ul', { 'data-field': field }, items.map(function (x) { return h('li', { class: focus && focus(x) ? 'focus' : null }, x); }));
  }
  /** An item that is `entry`, or `entry` followed by its annotations ("gfn 0 -> frame 4" is not "gfn 0 -> frame 40"). */
  function isEntry(entry) {
    return function (x) { return x === entry || x.indexOf(entry + ' ') === 0; };
  }

  function copyButton(label, text) {
    var b = h('button', { type: 'button', class: 'copy' }, label);
    b.addEventListener('click', function () {
      var done = function () { b.textContent = 'copied'; setTimeout(function () { b.textContent = label; }, 1500); };
      var fallback = function () {
        var t = h('textarea', { class: 'offscreen', readonly: '' });
        t.value = text;
        document.body.appendChild(t);
        t.select();
        try { document.execCommand('copy'); done(); } catch (e) { b.textContent = 'select and copy by hand'; }
        t.remove();
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
    return b;
  }

  // --- Header: title, verdict, and the header of the text report.
  var textLines = data.text.split('\n');
  var raceAt = textLines.findIndex(function (l) { return l.indexOf('Race (') === 0; });
  var textHeader = textLines.slice(0, raceAt < 0 ? 12 : raceAt).join('\n').trimEnd();
  var v = r.violation;
  app.appendChild(h('header', null,
    h('h1', { id: 'title' }, 'mshare-check: ' + r.title),
    h('p', { id: 'summary' }, r.summary),
    h('p', { id: 'verdict', class: r.verdict.result === 'violation' ? 'bad' : 'ok' },
      'Verdict of this replay: ' + r.verdict.result + (v ? ' ' + v.property + ' at step ' + v.step + ' (' + v.actor + ', ' + v.stepId + ')' : ''),
      r.sameAsSaved ? ' (as saved)' : ' (CHANGED since the file was saved)'),
    h('dl', { id: 'facts' },
      h('dt', null, 'File'), h('dd', { 'data-field': 'file' }, r.header.file),
      h('dt', null, 'Policy'), h('dd', { 'data-field': 'policy' }, r.header.policy + (r.header.variant ? ' (variant ' + r.header.variant.file + ')' : '')),
      h('dt', null, 'Found'), h('dd', { 'data-field': 'found' }, r.header.found),
      h('dt', null, 'Signature'), h('dd', { 'data-field': 'signature' }, r.header.signature)),
    h('details', { open: '' }, h('summary', null, 'Header of the text report'), h('pre', { id: 'text-header' }, textHeader)),
    h('p', { class: 'replay' }, 'Replay: ', h('code', { id: 'replay' }, r.header.replay), ' ', copyButton('copy', r.header.replay))));

  // --- Expected against actual.
  if (v) {
    app.appendChild(h('section', { id: 'expected-actual', class: 'two' },
      h('div', null, h('h2', null, 'Expected (reference and property)'), list('expected', r.expected)),
      h('div', null, h('h2', null, 'Actual (after step ' + v.step + ')'), list('actual', r.actual))));
  }

  // --- Timeline (swimlanes) and the state panel side by side.
  var main = h('section', { id: 'main' });
  app.appendChild(main);
  var laneOf = {};
  r.lanes.forEach(function (l, i) { l.actors.forEach(function (a) { laneOf[a] = i; }); });
  var table = h('table', { id: 'timeline', tabindex: '0', 'aria-label': 'race timeline: arrow keys move the step cursor' });
  var headRow = h('tr', null, h('th', { class: 'gutter' }, 'step'));
  r.lanes.forEach(function (l) { headRow.appendChild(h('th', { class: 'lane lane-' + l.kind, 'data-lane': l.id }, l.title)); });
  table.appendChild(h('thead', null, headRow));
  var body = h('tbody');
  table.appendChild(body);
  var rows = [];
  var decided = v ? v.step : -1;
  r.steps.forEach(function (s) {
    var tr = h('tr', { 'data-n': s.n, class: s.shown ? 'shown' : 'minor' });
    tr.appendChild(h('td', { class: 'gutter' }, String(s.n)));
    var li = laneOf[s.actor];
    r.lanes.forEach(function (l, i) {
      if (i !== li) { tr.appendChild(h('td', { class: 'idle' })); return; }
      var box = h('div', { class: 'step' + (s.n === decided ? ' violation' : '') + (v && s.n === v.decidedBy ? ' decisive' : ''), 'data-n': s.n, 'data-lane': l.id, 'data-actor': s.actor, 'data-step-id': s.id },
        l.actors.length > 1 ? h('span', { class: 'actor' }, s.actor + ' ') : null,
        h('span', { class: 'call' }, s.call[0]),
        s.call.length > 1 ? h('span', { class: 'sub' }, ' ' + s.call.slice(1).join(' ')) : null,
        s.locks.length ? h('div', { class: 'locks' }, '{' + s.locks.join(', ') + '}') : null,
        s.flush ? h('div', { class: 'flush' }, s.flush) : null,
        s.effects.length ? h('ul', { class: 'effects' }, s.effects.map(function (e) { return h('li', null, e); })) : null,
        s.n === decided && r.bad ? h('div', { class: 'bad-note' }, '[' + r.bad.note + ']') : null,
        s.n === decided ? h('div', { class: 'bad-note' }, v.property + ': ' + v.message) : null);
      box.title = s.id + (s.op ? ' - ' + s.op : '');
      tr.appendChild(h('td', { class: 'busy lane-' + l.kind }, box));
    });
    tr.addEventListener('click', function () { select(s.n, false); });
    body.appendChild(tr);
    rows[s.n] = tr;
  });
  main.appendChild(h('div', { id: 'timeline-wrap' }, table));
  var panel = h('aside', { id: 'state', 'aria-live': 'polite' });
  main.appendChild(panel);

  function statePanel(n) {
    var st = r.states[n];
    var s = n > 0 ? r.steps[n - 1] : null;
    var out = [h('h2', { id: 'state-title', 'data-step': n }, n === 0 ? 'Initial state' : 'State after step ' + n + ': ' + s.actor + ' ' + s.call.join(' ')),
      h('p', { class: 'keys' }, 'Keys: up/down or j/k one step, PageUp/PageDown ten, Home/End, v the violating step.')];
    if (s) out.push(h('p', { id: 'state-step-id' }, s.id + (s.op ? ' (in ' + s.op + ')' : '')));
    out.push(h('h3', null, 'Open operation windows'), list('windows', st.windows));
    out.push(h('h3', null, 'Locks held'), list('locks', st.locks));
    out.push(h('h3', null, 'mms'));
    st.mms.forEach(function (m) {
      out.push(h('div', { class: 'mm', 'data-mm': m.mm },
        h('h4', null, m.mm),
        h('p', { 'data-field': 'mm.' + m.mm + '.tlb_gen' }, 'tlb_gen ' + m.tlbGen),
        h('p', { 'data-field': 'mm.' + m.mm + '.cpumask' }, 'mm_cpumask {' + m.cpumask.map(function (c) { return 'CPU' + c; }).join(', ') + '}'),
        h('h5', null, 'VMAs'), list('mm.' + m.mm + '.vmas', m.vmas),
        h('h5', null, 'PTEs'), list('mm.' + m.mm + '.ptes', m.ptes)));
    });
    out.push(h('h3', null, 'Page tables and their sharers'));
    out.push(h('ul', { 'data-field': 'tables' }, st.tables.map(function (t) {
      return h('li', { class: t.sharers.length > 1 ? 'shared' : null }, t.table + ' frame ' + t.frame + ': ' + t.sharers.join(', '));
    })));
    out.push(h('h3', null, 'CPUs: TLB and paging-structure caches per PCID slot'));
    st.cpus.forEach(function (c) {
      var slots = h('table', { class: 'slots' }, h('tr', null, h('th', null, 'slot'), h('th', null, 'mm'), h('th', null, 'tlb_gen'), h('th', null, 'TLB'), h('th', null, 'PSC')));
      c.slots.forEach(function (sl) {
        var f = 'cpu' + c.cpu + '.slot' + sl.slot;
        slots.appendChild(h('tr', { class: sl.loaded ? 'loaded' : null, 'data-slot': f },
          h('td', null, String(sl.slot) + (sl.loaded ? ' (CR3)' : '')), h('td', null, sl.mm || 'unused'), h('td', { 'data-field': f + '.tlb_gen' }, String(sl.tlbGen)),
          h('td', null, list(f + '.tlb', sl.tlb, '-')), h('td', null, list(f + '.psc', sl.psc, '-'))));
      });
      out.push(h('div', { class: 'cpu', 'data-cpu': c.cpu },
        h('h4', null, 'CPU' + c.cpu + ': CR3 ' + c.cr3 + (c.lazy ? ' (lazy)' : '')),
        slots,
        c.ipis.length ? h('p', null, 'IPIs pending: ', list('cpu' + c.cpu + '.ipis', c.ipis)) : null,
        c.storeBuffer.length ? h('p', null, 'store buffer (sb@cpu' + c.cpu + '): ', list('cpu' + c.cpu + '.sb', c.storeBuffer)) : null));
    });
    if (st.kvm) out.push.apply(out, kvmPanel(st.kvm));
    if (st.devices) out.push.apply(out, devicePanel(st.devices));
    out.push(h('p', { 'data-field': 'rcu' }, 'Page tables waiting for an RCU grace period: ' + st.rcuQueued));
    out.push(h('p', { 'data-field': 'free' }, 'Free frames: ' + (st.freeFrames.join(' ') || 'none')));
    return out;
  }

  // The secondary MMU (present only when the run has a VM): per VM its invalidation counters, memslots and
  // SPTEs; each vCPU's mode and requests; the guest TLB of each CPU. The SPTE or guest-TLB entry the violation
  // is about is marked wherever it is present.
  var kf = r.focus && r.focus.vm !== undefined ? r.focus : null;
  // the root a vCPU runs on (holder EPTP) or whose page table a guest PSC entry caches
  var rootFocus = kf && kf.holder === 'EPTP' ? function (x) { return /^root frame (\d+),/.exec(x)[1] === String(kf.table); } : null;
  function kvmPanel(k) {
    var out = [h('h3', null, 'Secondary MMU (KVM): SPTEs, vCPUs, guest TLBs')];
    k.vms.forEach(function (vm) {
      var spteFocus = kf && kf.holder === 'SPTE' && kf.vm === vm.vm ? isEntry('gfn ' + kf.gfn + ' -> frame ' + kf.pfn) : null;
      out.push(h('div', { class: 'vm', 'data-vm': vm.vm },
        h('h4', null, vm.vm + ' (memory of ' + vm.mm + ')' + (vm.released ? ', notifier released' : '')),
        h('p', { 'data-field': 'vm.' + vm.vm + '.mmu_invalidate' }, 'mmu_invalidate_seq ' + vm.mmuInvalidateSeq + ', mmu_invalidate_in_progress ' + vm.mmuInvalidateInProgress + ', range ' + vm.mmuInvalidateRange),
        h('h5', null, 'memslots'), list('vm.' + vm.vm + '.memslots', vm.memslots),
        h('h5', null, 'SPTEs (gfn -> frame)'), list('vm.' + vm.vm + '.sptes', vm.sptes, 'none', spteFocus),
        h('h5', null, 'TDP roots'), list('vm.' + vm.vm + '.roots', vm.roots, 'none', rootFocus)));
    });
    out.push(h('h4', null, 'vCPUs'), list('vcpus', k.vcpus.map(function (v) {
      return v.vcpu + ' (' + v.vm + ', CPU' + v.cpu + '): ' + v.mode + (v.inGuest ? ', in the guest' : '') + '; requests: ' + (v.requests.join(', ') || 'none') + (v.kicked ? '; kicked' : '') + '; root: ' + (v.root === null ? 'none' : 'frame ' + v.root);
    }), 'none yet (created at the first KVM_RUN)'));
    out.push(h('h4', null, 'Guest TLB per CPU (tagged by vCPU and VM)'));
    k.guestTlb.forEach(function (g) {
      var tlbFocus = kf && kf.holder === 'guest TLB' && kf.cpu === g.cpu ? isEntry(kf.vcpu + ' (' + kf.vm + '): gfn ' + kf.gfn + ' -> frame ' + kf.pfn) : null;
      out.push(h('div', { class: 'guest-tlb', 'data-cpu': g.cpu }, h('h5', null, 'CPU' + g.cpu), list('cpu' + g.cpu + '.guest_tlb', g.entries, '-', tlbFocus)));
    });
    out.push(h('h4', null, 'Guest paging-structure cache per CPU (tagged by vCPU and root)'));
    k.guestPsc.forEach(function (g) {
      var pscFocus = kf && kf.holder === 'guest PSC' && kf.cpu === g.cpu ? function (x) { return x.indexOf(kf.vcpu + ' (') === 0 && / frame (\d+)$/.exec(x)[1] === String(kf.table); } : null;
      out.push(h('div', { class: 'guest-psc', 'data-cpu': g.cpu }, h('h5', null, 'CPU' + g.cpu), list('cpu' + g.cpu + '.guest_psc', g.entries, '-', pscFocus)));
    });
    return out;
  }

  // IOMMU SVA devices (present only when the run binds one): per device its ATC and its IOMMU's paging-structure
  // cache, the entry the violation is about marked.
  var df = r.focus && r.focus.device !== undefined ? r.focus : null;
  function devicePanel(ds) {
    var out = [h('h3', null, 'IOMMU SVA devices: ATC and IOMMU paging-structure cache')];
    ds.forEach(function (d) {
      var mine = df && df.device === d.device;
      var atcFocus = mine && df.pfn !== null && df.vpn !== null ? isEntry('0x' + (df.vpn * 4096).toString(16) + ' -> frame ' + df.pfn) /* vaHex(): page number to address */ : null;
      var pscFocus = mine && df.table !== null ? function (x) { return / frame (\d+)$/.exec(x)[1] === String(df.table); } : null;
      out.push(h('div', { class: 'device', 'data-device': d.device },
        h('h4', null, d.device + ' (bound to ' + d.mm + ')' + (d.released ? ', PASID torn down' : '')),
        h('h5', null, 'ATC'), list('dev.' + d.device + '.atc', d.atc, '-', atcFocus),
        h('h5', null, 'IOMMU PSC'), list('dev.' + d.device + '.psc', d.psc, '-', pscFocus)));
    });
    return out;
  }

  var cursor = -1;
  function select(n, scroll) {
    n = Math.max(0, Math.min(r.steps.length, n));
    if (rows[cursor]) rows[cursor].classList.remove('cursor');
    cursor = n;
    if (rows[n]) {
      rows[n].classList.add('cursor');
      if (scroll) rows[n].scrollIntoView({ block: 'nearest' });
    }
    panel.replaceChildren.apply(panel, statePanel(n));
    table.setAttribute('data-cursor', String(n));
  }
  document.addEventListener('keydown', function (e) {
    if (e.target && (e.target.tagName === 'TEXTAREA' || e.target.tagName === 'INPUT')) return;
    var to = { ArrowDown: cursor + 1, j: cursor + 1, ArrowUp: cursor - 1, k: cursor - 1, PageDown: cursor + 10, PageUp: cursor - 10, Home: 0, End: r.steps.length, v: v ? v.step : cursor }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    select(to, true);
  });

  // --- Scenario, with its replay command, and the whole text report.
  app.appendChild(h('section', { id: 'scenario' },
    h('h2', null, 'Scenario ', copyButton('copy scenario', r.scenario.text)),
    h('p', null, 'Save it as race.txt and run ', h('code', { id: 'scenario-replay' }, r.scenario.replay), ' ', copyButton('copy', r.scenario.replay)),
    h('pre', { id: 'scenario-text' }, r.scenario.text)));
  app.appendChild(h('details', { id: 'text-report' }, h('summary', null, 'The text report (for a mailing-list reply)'), h('pre', null, data.text)));
  app.appendChild(h('footer', null, r.provenance));

  select(v ? v.step : 0, true);
  document.documentElement.setAttribute('data-ready', '1');
})();
