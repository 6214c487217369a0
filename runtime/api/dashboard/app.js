// robotni dashboard: plain JS, no build step. Polls the JSON API (every second by default,
// ?poll=<ms> to change it) and renders job queues, schedules, jobs, robot queues, a job's
// detail and the submit forms.
// Addresses: the job list's filters and page are in the query (?type=&state=&q=&since=&until=
// &cursor=&limit=), a job is #/jobs/<id>, a queue #/queues/<name>; #token=<t> signs in.
'use strict';

(() => {
  const API = '/api/worker';
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(200, Number(params.get('poll')) || 1000);
  const TOKEN_KEY = 'robotni.token';
  const $ = (id) => document.getElementById(id);

  // ---- sign-in by link: serve prints http://HOST:PORT/#token=<token> ----
  // The token is stored as a pasted one is, then removed from the address bar (and from this
  // history entry), so it is not left in the address, a bookmark or a screenshot.
  (function signInFromFragment() {
    const m = /^#token=([^&]*)/.exec(location.hash);
    if (!m) return;
    const t = decodeURIComponent(m[1]).trim();
    if (t) localStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  })();

  const state = {
    types: [],
    selected: null,      // job id shown in the detail panel
    features: {},        // optional routes: flush, log, retry
    logs: {},            // job id -> captured output (null: none)
    timer: null,
    busy: false,
    lastJobs: [],
    optimistic: null,    // the job just submitted, until the list shows it
    view: {},            // the job list's filters and page, as in the address (readView)
    page: { next: null, prev: null, total: 0 },
    picked: new Set(),   // job ids ticked for a bulk action
    lastStatus: null,
    queueShown: null,    // the queue in the queue panel
  };

  // ---- DOM helpers (text only: nothing from the API goes through innerHTML) ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const clear = (el) => { while (el.firstChild) el.removeChild(el.firstChild); return el; };

  // ---- API ----
  function token() { return localStorage.getItem(TOKEN_KEY) || ''; }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    const init = { method, headers, cache: 'no-store' };
    // Every POST says JSON, body or not: with --no-auth serve refuses other types (a page on
    // another site could send those without asking).
    if (body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      headers['Content-Type'] = 'application/json';
    }
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = text; } }
    if (res.status === 429) {
      // Too many requests (or wrong tokens from this address): wait as long as told.
      state.pausedUntil = Date.now() + 1000 * (Number(res.headers.get('Retry-After')) || 1);
    }
    if (!res.ok) {
      const msg = data && data.error && data.error.message ? data.error.message
                : (typeof data === 'string' && data) || res.status + ' ' + res.statusText;
      if (res.status === 401) setAuth(token() ? 'rejected' : 'needed', msg);
      else if (res.status === 403) setAuth('scope', msg);
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    setAuth('ok');
    return data;
  }

  // The token's standing, from the last API answer: ok, needed (401 without a token),
  // rejected (401 with one) or scope (403: the token lacks read or write). <body data-auth>
  // carries it for the style and the tests; the banner says what to do.
  function setAuth(how, msg) {
    const prev = document.body.dataset.auth;
    document.body.dataset.auth = how;
    if (how === 'needed') {
      showBanner('This server needs an API token: enter it under "API token" above.');
    } else if (how === 'rejected') {
      showBanner('The server refused the API token (' + msg + '): check it and save it again.', 'error');
    } else if (how === 'scope') {
      showBanner('The API token may not do this (' + msg + ').', 'error');
    } else if (prev && prev !== 'ok') {
      showBanner('');
    }
  }

  // Whether an optional route exists, without calling it: asked with a method it does not
  // take, a known path answers 405 (Method Not Allowed) and an unknown one 404.
  async function routeExists(path, otherMethod) {
    try {
      const headers = {};
      if (token()) headers.Authorization = 'Bearer ' + token();
      const res = await fetch(path, { method: otherMethod, headers, cache: 'no-store' });
      return res.status === 405;
    } catch { return false; }
  }

  async function probeFeatures() {
    const [flush, log, retry] = await Promise.all([
      routeExists(API + '/queues/_probe_/flush', 'GET'),
      routeExists(API + '/jobs/0/log', 'PUT'),
      routeExists(API + '/jobs/0/retry', 'GET'),
    ]);
    state.features = { flush, log, retry };
  }

  // ---- formatting ----
  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false });
  }
  function fmtDuration(ms) {
    if (ms < 0 || !isFinite(ms)) return '';
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    const m = Math.floor(ms / 60000);
    return m + ' m ' + Math.round((ms % 60000) / 1000) + ' s';
  }
  function duration(job) {
    const t = job.timeline || {};
    if (!t.timeStarted) return '';
    const end = t.timeFinished ? Date.parse(t.timeFinished) : Date.now();
    return fmtDuration(end - Date.parse(t.timeStarted));
  }
  const pretty = (v) => (v === null || v === undefined ? '—' : JSON.stringify(v, null, 2));
  const badge = (s) => h('span', { class: 'badge s-' + s, dataset: { state: s } }, s);

  function showBanner(text, kind) {
    const b = $('banner');
    if (!text) { b.hidden = true; return; }
    b.textContent = text;
    b.className = 'banner ' + (kind || 'warn');
    b.hidden = false;
  }

  // ---- actions ----
  async function act(label, fn) {
    try {
      await fn();
      showBanner('');
    } catch (e) {
      showBanner(label + ': ' + e.message, 'error');
    }
    refresh();
  }
  const cancelJob = (id) => act('Cancel', () => api('DELETE', `${API}/jobs/${encodeURIComponent(id)}`));
  function retryJob(id) {
    return act('Retry', () => api('POST', `${API}/jobs/${encodeURIComponent(id)}/retry`));
  }
  function flushQueue(q) {
    if (!confirm(`Cancel every queued job of "${q}"?`)) return;
    act('Flush', () => api('POST', `${API}/queues/${encodeURIComponent(q)}/flush`));
  }
  function pauseSchedule(name, pause) {
    const verb = pause ? 'pause' : 'resume';
    return act(pause ? 'Pause' : 'Resume',
      () => api('POST', `${API}/schedules/${encodeURIComponent(name)}/${verb}`));
  }
  function jobActions(job) {
    const out = [];
    if (job.status === 'queued' || job.status === 'running') {
      out.push(h('button', { class: 'small danger', type: 'button', 'data-action': 'cancel',
        disabled: job.cancel_requested, onclick: (e) => { e.stopPropagation(); cancelJob(job.job_id); } },
        job.cancel_requested ? 'Cancelling' : 'Cancel'));
    }
    if ((job.status === 'failed' || job.status === 'cancelled') && state.features.retry) {
      out.push(h('button', { class: 'small', type: 'button', 'data-action': 'retry',
        onclick: (e) => { e.stopPropagation(); retryJob(job.job_id); } }, 'Retry'));
    }
    return out;
  }

  // ---- rendering ----
  function queueRow(q, c, ...rest) {
    return h('tr', { dataset: { queue: q } },
      h('td', { class: 'name' }, h('a', { href: '#/queues/' + encodeURIComponent(q) }, q)),
      ['queued', 'scheduled', 'running', 'done', 'failed', 'cancelled'].map((k) =>
        h('td', { class: 'num' + (c[k] ? ' nz c-' + k : '') }, c[k] || 0)),
      ...rest);
  }

  function renderStatus(st) {
    state.lastStatus = st;
    $('version').textContent = st.version ? 'v' + st.version : '';
    // A queue named by a job type served here holds jobs; any other is a robot's queue of
    // work items, shown apart (its items are not jobs and not in the jobs table).
    const jobTypes = new Set(state.types.map((t) => t.type));
    const names = Object.keys(st.queues || {}).sort();
    const jobQueues = names.filter((q) => jobTypes.has(q));
    const robotQueues = names.filter((q) => !jobTypes.has(q));
    const body = clear($('queues').tBodies[0]);
    $('queues-empty').hidden = jobQueues.length > 0;
    for (const q of jobQueues) {
      const c = st.queues[q];
      body.append(queueRow(q, c,
        h('td', { class: 'act' }, state.features.flush && (c.queued || c.scheduled)
          ? h('button', { class: 'small ghost', type: 'button', 'data-action': 'flush',
              onclick: () => flushQueue(q) }, 'Flush') : '')));
    }
    const robotBody = clear($('robot-queues').tBodies[0]);
    $('robot-queues-card').hidden = robotQueues.length === 0;
    for (const q of robotQueues) robotBody.append(queueRow(q, st.queues[q]));
  }

  function jobRow(j) {
    return h('tr', {
        class: j.job_id === state.selected ? 'selected' : '',
        dataset: { jobId: j.job_id, state: j.status, type: j.type },
        onclick: () => select(j.job_id) },
      h('td', { class: 'pick' }, h('input', { type: 'checkbox', 'aria-label': 'Select job ' + j.job_id,
        checked: state.picked.has(j.job_id), onclick: (e) => e.stopPropagation(),
        onchange: (e) => pick(j.job_id, e.target.checked) })),
      h('td', { class: 'mono' }, h('a', { href: '#/jobs/' + encodeURIComponent(j.job_id),
        onclick: (e) => e.stopPropagation() }, '#' + j.job_id)),
      h('td', {}, j.type),
      h('td', {}, badge(j.status)),
      h('td', { class: 'num' }, `${j.attempts}/${j.max_attempts}`),
      h('td', { class: 'num mono' }, fmtTime(j.timeline && j.timeline.timeQueued)),
      h('td', { class: 'num' }, duration(j)),
      h('td', { class: 'act' }, jobActions(j)));
  }

  // Periodic jobs (GET /api/worker/schedules): shown only when there is one. Rows are kept
  // and their tick cells updated in place, not rebuilt at every poll: a click landing while
  // the table was redrawn hit a removed button and was lost.
  function scheduleRow(s, sig) {
    return h('tr', { dataset: { schedule: s.name, sig }, class: s.paused ? 'paused' : null },
      h('td', { class: 'name' }, s.name),
      h('td', {}, s.type),
      h('td', { class: 'mono' }, s.cron),
      h('td', {}, s.timezone),
      h('td', { class: 'state' }, h('span', { class: 'badge ' + (s.paused ? 's-cancelled' : 's-done') },
        s.paused ? 'paused' : 'active')),
      h('td', { class: 'last' }, ''),
      h('td', { class: 'next' }, ''),
      h('td', { class: 'act' }, h('button', {
        class: 'small' + (s.paused ? '' : ' ghost'), type: 'button',
        'data-action': s.paused ? 'resume' : 'pause',
        onclick: () => pauseSchedule(s.name, !s.paused) }, s.paused ? 'Resume' : 'Pause')));
  }
  function renderSchedules(list) {
    const body = $('schedules').tBodies[0];
    $('schedules-card').hidden = list.length === 0;
    const old = new Map([...body.rows].map((tr) => [tr.dataset.schedule, tr]));
    list.forEach((s, i) => {
      // What the row is built from; the two tick cells change every tick and are set below.
      const sig = JSON.stringify([s.type, s.cron, s.timezone, !!s.paused]);
      let tr = old.get(s.name);
      old.delete(s.name);
      if (!tr || tr.dataset.sig !== sig) {
        const fresh = scheduleRow(s, sig);
        if (tr) tr.replaceWith(fresh);
        tr = fresh;
      }
      if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] || null);
      const last = s.last_tick ? fmtTime(s.last_tick) : '';
      const next = s.next_run ? fmtTime(s.next_run) : '-';
      if (tr.cells[5].textContent !== last) tr.cells[5].textContent = last;
      if (tr.cells[6].textContent !== next) tr.cells[6].textContent = next;
    });
    for (const tr of old.values()) tr.remove();
  }

  function renderJobs(jobs) {
    state.lastJobs = jobs;
    // A job just submitted shows at once, as the POST answered, until the list has it (on the
    // newest page, when the filters let it through).
    const o = state.optimistic;
    const v = state.view;
    if (o) {
      if (jobs.some((j) => j.job_id === o.job_id)) state.optimistic = null;
      else if (!v.cursor && !v.q && !v.until && (!v.type || v.type === o.type) &&
               (!v.state || v.state === o.status)) jobs = [o, ...jobs];
    }
    const body = clear($('jobs').tBodies[0]);
    $('jobs-empty').hidden = jobs.length > 0;
    for (const j of jobs) body.append(jobRow(j));
    renderPager(jobs.length);
    renderBulkBar();
  }

  // Whether a panel is open: on a wide screen the page then makes room for it (style.css).
  function drawerState() {
    document.body.classList.toggle('drawer-open', !$('detail-card').hidden || !$('queue-card').hidden);
  }

  function renderDetail(job, events, log) {
    $('detail-card').hidden = false;
    drawerState();
    $('detail-id').textContent = '#' + job.job_id;
    clear($('detail-actions')).append(badge(job.status), ...jobActions(job));
    const t = job.timeline || {};
    const dl = clear($('detail-summary'));
    const rows = [
      ['Type', job.type], ['Attempts', `${job.attempts} of ${job.max_attempts}`],
      ['Priority', job.priority], ['Queued', t.timeQueued], ['Scheduled', t.timeScheduled],
      ['Started', t.timeStarted], ['Finished', t.timeFinished], ['Duration', duration(job)],
      ['Worker', job.worker],
    ];
    for (const [k, v] of rows) {
      if (v === '' || v === null || v === undefined) continue;
      dl.append(h('dt', {}, k), h('dd', {}, String(v)));
    }
    $('detail-params').textContent = pretty(job.params);
    $('detail-result').textContent = pretty(job.result);
    $('detail-error-box').hidden = !job.error;
    if (job.error) {
      const e = job.error;
      $('detail-error').textContent = `${e.type}${e.code ? ' [' + e.code + ']' : ''}: ${e.message}` +
        (e.traceback ? '\n\n' + e.traceback : '');
    }
    const ol = clear($('detail-timeline'));
    if (events && events.length) {
      for (const ev of events) {
        ol.append(h('li', { class: 'ev-' + ev.event },
          h('span', { class: 'when mono' }, fmtTime(new Date(ev.at_ms).toISOString())),
          h('span', { class: 'what' }, ev.event),
          ev.attempt ? h('span', { class: 'muted' }, ' attempt ' + ev.attempt) : '',
          ev.message ? h('div', { class: 'msg' }, ev.message) : ''));
      }
    } else {
      for (const [k, label] of [['timeQueued', 'queued'], ['timeStarted', 'started'], ['timeFinished', 'finished']]) {
        if (t[k]) ol.append(h('li', {}, h('span', { class: 'when mono' }, fmtTime(t[k])), h('span', { class: 'what' }, label)));
      }
    }
    $('detail-log-box').hidden = log === null;
    if (log !== null) $('detail-log').textContent = log || '(empty)';
  }

  async function loadDetail() {
    const id = state.selected;
    if (!id) return;
    const enc = encodeURIComponent(id);
    const [job, tl] = await Promise.all([
      api('GET', `${API}/jobs/${enc}`),
      api('GET', `${API}/jobs/${enc}/timeline`).catch(() => null),
    ]);
    // A job's captured output is read once, when it has finished.
    const finished = ['done', 'failed', 'cancelled'].includes(job.status);
    if (state.features.log && finished && !(id in state.logs)) state.logs[id] = await fetchLog(enc);
    if (state.selected !== id) return;
    renderDetail(job, tl && tl.events, finished && id in state.logs ? state.logs[id] : null);
  }

  async function fetchLog(enc) {
    const headers = {};
    if (token()) headers.Authorization = 'Bearer ' + token();
    try {
      const res = await fetch(`${API}/jobs/${enc}/log`, { headers, cache: 'no-store' });
      if (!res.ok) return null;
      const text = await res.text();
      try {
        const j = JSON.parse(text);
        if (j && Array.isArray(j.lines)) return j.lines.join('\n');
        if (j && typeof j.log === 'string') return j.log;
        return JSON.stringify(j, null, 2);
      } catch { return text; }
    } catch { return null; }
  }

  // Shows job `id` in the detail panel (the address says #/jobs/<id>: select() sets it, the
  // hashchange opens it, so a pasted link opens the same).
  function select(id) {
    const want = '#/jobs/' + encodeURIComponent(id);
    if (location.hash !== want) { location.hash = want; return; }
    openJob(id);
  }

  function openJob(id) {
    closeQueue();
    state.selected = id;
    for (const tr of $('jobs').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.jobId === id);
    const link = $('detail-link');
    link.href = location.pathname + location.search + '#/jobs/' + encodeURIComponent(id);
    link.textContent = location.origin + link.getAttribute('href');
    loadDetail().catch((e) => showBanner('Job ' + id + ': ' + e.message, 'error'));
  }

  function closeDetail() {
    state.selected = null;
    $('detail-card').hidden = true;
    drawerState();
    for (const tr of $('jobs').tBodies[0].rows) tr.classList.remove('selected');
  }

  // Closing a panel drops its #/... from the address.
  function closePanels() {
    closeDetail();
    closeQueue();
    if (location.hash) history.pushState(null, '', location.pathname + location.search);
  }

  // ---- addresses: #/jobs/<id>, #/queues/<name> ----
  function route() {
    const m = /^#\/(jobs|queues)\/(.+)$/.exec(location.hash);
    if (!m) { closeDetail(); closeQueue(); return; }
    const name = decodeURIComponent(m[2]);
    if (m[1] === 'jobs') openJob(name);
    else openQueue(name);
  }

  // ---- the queue panel ----
  function openQueue(name) {
    closeDetail();
    state.queueShown = name;
    $('queue-card').hidden = false;
    drawerState();
    $('queue-name').textContent = name;
    const link = $('queue-link');
    link.href = location.pathname + '#/queues/' + encodeURIComponent(name);
    link.textContent = location.origin + link.getAttribute('href');
    $('queue-all').href = '?' + new URLSearchParams({ type: name });
    loadQueue().catch((e) => showBanner('Queue ' + name + ': ' + e.message, 'error'));
  }

  function closeQueue() {
    state.queueShown = null;
    $('queue-card').hidden = true;
    drawerState();
  }

  async function loadQueue() {
    const name = state.queueShown;
    if (!name) return;
    const data = await api('GET', `${API}/jobs?${new URLSearchParams({ type: name, limit: '10' })}`);
    if (state.queueShown !== name) return;
    const c = (state.lastStatus && state.lastStatus.queues && state.lastStatus.queues[name]) || {};
    const dl = clear($('queue-summary'));
    for (const k of ['queued', 'scheduled', 'running', 'done', 'failed', 'cancelled']) {
      dl.append(h('dt', {}, k), h('dd', { dataset: { count: k } }, String(c[k] || 0)));
    }
    dl.append(h('dt', {}, 'jobs listed'), h('dd', {}, String(data.total ?? '')));
    clear($('queue-actions')).append(state.features.flush && (c.queued || c.scheduled)
      ? h('button', { class: 'small ghost', type: 'button', 'data-action': 'flush', onclick: () => flushQueue(name) }, 'Flush')
      : '');
    const body = clear($('queue-jobs').tBodies[0]);
    for (const j of data.jobs || []) {
      body.append(h('tr', { dataset: { jobId: j.job_id, state: j.status }, onclick: () => select(j.job_id) },
        h('td', { class: 'mono' }, h('a', { href: '#/jobs/' + encodeURIComponent(j.job_id) }, '#' + j.job_id)),
        h('td', {}, badge(j.status)),
        h('td', { class: 'num mono' }, fmtTime(j.timeline && j.timeline.timeQueued))));
    }
  }

  // ---- the job list's view: filters and page, kept in the address ----
  const VIEW_KEYS = ['type', 'state', 'q', 'since', 'until', 'cursor', 'limit'];

  function readView() {
    const p = new URLSearchParams(location.search);
    const v = {};
    for (const k of VIEW_KEYS) if (p.get(k)) v[k] = p.get(k);
    state.view = v;
  }

  // The address for view `v`: the other query parameters (poll) and the #/... stay.
  function viewUrl(v) {
    const p = new URLSearchParams(location.search);
    for (const k of VIEW_KEYS) { if (v[k]) p.set(k, v[k]); else p.delete(k); }
    const q = p.toString();
    return location.pathname + (q ? '?' + q : '') + location.hash;
  }

  function setView(v) {
    state.view = v;
    history.pushState(null, '', viewUrl(v));
    syncFilterInputs();
    refresh();
  }

  // datetime-local inputs hold local time; the address and the API hold UTC.
  function isoToLocal(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  }
  function localToIso(v) {
    const d = new Date(v);
    return v && !isNaN(d) ? d.toISOString() : '';
  }

  function syncFilterInputs() {
    const v = state.view;
    const type = $('filter-type');
    if (v.type && ![...type.options].some((o) => o.value === v.type)) type.append(h('option', { value: v.type }, v.type));
    type.value = v.type || '';
    $('filter-state').value = v.state || '';
    $('filter-q').value = v.q || '';
    $('filter-since').value = v.since ? isoToLocal(v.since) : '';
    $('filter-until').value = v.until ? isoToLocal(v.until) : '';
  }

  // A changed filter starts again at the newest page.
  function applyFilters() {
    const v = { limit: state.view.limit };
    if ($('filter-type').value) v.type = $('filter-type').value;
    if ($('filter-state').value) v.state = $('filter-state').value;
    if ($('filter-q').value.trim()) v.q = $('filter-q').value.trim();
    if (localToIso($('filter-since').value)) v.since = localToIso($('filter-since').value);
    if (localToIso($('filter-until').value)) v.until = localToIso($('filter-until').value);
    setView(v);
  }

  function listQuery() {
    const q = new URLSearchParams({ limit: state.view.limit || '50' });
    for (const k of ['type', 'state', 'q', 'since', 'until', 'cursor']) if (state.view[k]) q.set(k, state.view[k]);
    return q;
  }

  function gotoPage(cursor) {
    const v = { ...state.view };
    if (cursor) v.cursor = cursor; else delete v.cursor;
    setView(v);
  }

  function renderPager(shown) {
    const p = state.page;
    $('jobs-total').textContent = `(${p.total} match${p.total === 1 ? '' : 'es'})`;
    $('page-prev').disabled = !p.prev;
    $('page-next').disabled = !p.next;
    $('page-newest').disabled = !state.view.cursor;
    $('page-info').textContent = shown ? `${shown} shown of ${p.total}` : '';
  }

  // ---- bulk retry and cancel of the ticked jobs ----
  function pick(id, on) {
    if (on) state.picked.add(id); else state.picked.delete(id);
    renderBulkBar();
  }

  function renderBulkBar() {
    const n = state.picked.size;
    $('bulkbar').hidden = n === 0 && !$('bulk-result').textContent;
    $('bulk-count').textContent = `${n} selected`;
    $('bulk-retry').disabled = n === 0 || !state.features.retry;
    $('bulk-cancel').disabled = n === 0;
    const boxes = [...$('jobs').tBodies[0].querySelectorAll('td.pick input')];
    const all = $('pick-all');
    all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
    all.indeterminate = !all.checked && boxes.some((b) => b.checked);
  }

  // One request per job through the job's own route (retry: POST .../retry; cancel: DELETE),
  // all at once; then says how many worked and why the others did not.
  async function bulk(label, method, suffix) {
    const ids = [...state.picked];
    if (!ids.length) return;
    const out = $('bulk-result');
    out.className = 'bulk-result';
    out.textContent = `${label}: ${ids.length} jobs…`;
    const results = await Promise.allSettled(ids.map((id) =>
      api(method, `${API}/jobs/${encodeURIComponent(id)}${suffix}`)));
    const failed = [];
    results.forEach((r, i) => { if (r.status === 'rejected') failed.push(`#${ids[i]}: ${r.reason.message}`); });
    const ok = ids.length - failed.length;
    out.textContent = `${label}: ${ok} of ${ids.length} done` + (failed.length ? '; not done: ' + failed.join('; ') : '');
    out.className = 'bulk-result' + (failed.length ? ' error' : ' ok');
    out.dataset.ok = String(ok);
    out.dataset.failed = String(failed.length);
    state.picked.clear();
    renderBulkBar();
    refresh();
  }

  // ---- submit forms generated from the input schemas ----
  function fieldFor(name, prop, required) {
    const id = 'f-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
    const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type;
    // No type (an unannotated parameter): the text is read as JSON when it is JSON, else kept.
    const common = { id, name, 'data-field': name, 'data-type': type || 'any', required };
    let input;
    if (Array.isArray(prop.enum)) {
      input = h('select', common, required ? null : h('option', { value: '' }, ''),
        prop.enum.map((v) => h('option', { value: JSON.stringify(v) }, String(v))));
    } else if (type === 'boolean') {
      input = h('input', { ...common, type: 'checkbox', required: false, checked: prop.default === true });
    } else if (type === 'number' || type === 'integer') {
      input = h('input', { ...common, type: 'number', step: type === 'integer' ? '1' : 'any',
        min: prop.minimum, max: prop.maximum, value: prop.default,
        placeholder: prop.default === undefined ? type : String(prop.default) });
    } else if (type === 'object' || type === 'array') {
      input = h('textarea', { ...common, rows: 3, placeholder: type === 'object' ? '{ }' : '[ ]' },
        prop.default !== undefined ? JSON.stringify(prop.default) : '');
    } else {
      input = h('input', { ...common, type: prop.format === 'email' ? 'email' : 'text',
        value: prop.default, placeholder: prop.description || '' });
    }
    return h('div', { class: 'field' },
      h('label', { for: id }, name, required ? h('span', { class: 'req', title: 'required' }, ' *') : '',
        h('span', { class: 'ftype' }, type || 'any')),
      input,
      prop.description && type !== 'string' ? h('small', { class: 'muted' }, prop.description) : '');
  }

  function readForm(form) {
    const out = {};
    for (const el of form.querySelectorAll('[data-field]')) {
      const name = el.dataset.field, type = el.dataset.type;
      if (el.tagName === 'SELECT') { if (el.value !== '') out[name] = JSON.parse(el.value); continue; }
      if (type === 'boolean') { out[name] = el.checked; continue; }
      const v = el.value.trim();
      if (v === '') continue;
      if (type === 'number' || type === 'integer') out[name] = Number(v);
      else if (type === 'object' || type === 'array') {
        try { out[name] = JSON.parse(v); } catch { throw new Error(name + ': not valid JSON'); }
      } else if (type === 'any') {
        try { out[name] = JSON.parse(v); } catch { out[name] = el.value; }
      } else out[name] = el.value;
    }
    return out;
  }

  function buildForm(t) {
    const schema = t.input_schema || {};
    const props = schema.properties || {};
    const required = new Set(schema.required || []);
    const names = Object.keys(props);
    const form = h('form', { class: 'submit', 'data-type': t.type, novalidate: false },
      names.length ? names.map((n) => fieldFor(n, props[n] || {}, required.has(n)))
                   : h('p', { class: 'muted' }, 'This type takes no parameters.'),
      h('div', { class: 'form-foot' },
        h('span', { class: 'muted' }, required.size ? '* required' : ''),
        h('button', { type: 'submit', class: 'primary', 'data-action': 'submit' }, 'Submit ' + t.type)));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const msg = $('submit-msg');
      msg.className = 'msg';
      try {
        const p = readForm(form);
        const res = await api('POST', API + '/jobs', { type: t.type, params: p });
        msg.textContent = `Queued job #${res.job_id}`;
        msg.className = 'msg ok';
        state.optimistic = { job_id: String(res.job_id), type: t.type, status: res.status || 'queued',
          params: p, attempts: 0, max_attempts: t.max_attempts || '', timeline: { timeQueued: new Date().toISOString() } };
        renderJobs(state.lastJobs || []);
        select(String(res.job_id));
        refresh();
      } catch (err) {
        msg.textContent = err.message;
        msg.className = 'msg error';
      }
    });
    return form;
  }

  function showForm(type) {
    const t = state.types.find((x) => x.type === type);
    clear($('forms'));
    $('submit-doc').textContent = t && t.description ? t.description : '';
    $('submit-msg').textContent = '';
    if (t) $('forms').append(buildForm(t));
  }

  async function loadTypes() {
    const data = await api('GET', API + '/types');
    state.types = (data.types || []).slice().sort((a, b) => a.type.localeCompare(b.type));
    const sel = clear($('submit-type'));
    const filter = $('filter-type');
    clear(filter).append(h('option', { value: '' }, 'all types'));
    for (const t of state.types) {
      sel.append(h('option', { value: t.type }, t.type));
      filter.append(h('option', { value: t.type }, t.type));
    }
    syncFilterInputs();
    if (state.types.length) showForm(state.types[0].type);
  }

  // ---- the poll loop ----
  // What the live badge says after a failed request.
  function downText(e) {
    if (e.status === 401) return token() ? 'token refused' : 'needs token';
    if (e.status === 403) return 'token lacks read';
    return e.status === 429 ? 'rate limited' : 'offline';
  }

  function setLive(ok, text) {
    $('live').classList.toggle('down', !ok);
    $('live-text').textContent = text;
  }

  async function refresh() {
    if (state.busy) return;
    // A refused token is not sent again until another is saved: serve limits wrong tokens
    // per address, and polling with one would lock this browser out.
    if (state.refused && state.refused === token()) return;
    if (Date.now() < (state.pausedUntil || 0)) return;
    state.busy = true;
    try {
      const [st, jobs, sched] = await Promise.all([api('GET', API + '/status'),
        api('GET', `${API}/jobs?${listQuery()}`),
        api('GET', API + '/schedules').catch((e) => (e.status === 404 ? { schedules: [] } : Promise.reject(e)))]);
      renderStatus(st);
      renderSchedules(sched.schedules || []);
      state.page = { next: jobs.next_cursor || null, prev: jobs.prev_cursor || null, total: jobs.total ?? 0 };
      renderJobs(jobs.jobs || []);
      if (state.selected) await loadDetail().catch(() => {});
      if (state.queueShown) await loadQueue().catch(() => {});
      await refreshExtras();
      setLive(true, 'live');
    } catch (e) {
      if (e.status === 401 && token()) state.refused = token();
      setLive(false, downText(e));
    } finally {
      state.busy = false;
    }
  }

  async function start() {
    state.refused = null;
    try {
      await probeFeatures();
      await loadTypes();
      showBanner('');
    } catch (e) {
      // The same words as a failed poll: a poll may have run meanwhile and said them already.
      setLive(false, downText(e));
      if (e.status === 429) {
        setTimeout(start, Math.max(0, (state.pausedUntil || 0) - Date.now()) + 100);
        return;
      }
      if (e.status !== 401 && e.status !== 403) showBanner('Could not load job types: ' + e.message, 'error');
      if (e.status === 401) $('token').focus();
    }
    await refresh();
    if (!state.timer) state.timer = setInterval(refresh, POLL_MS);
  }

  // ---- the worker panel: each runner slot busy or idle, with its job ----
  function renderWorkers(st) {
    const slots = (st && st.workers && st.workers.slots) || [];
    const busy = slots.filter((s) => s.busy).length;
    $('workers-summary').textContent = slots.length ? `${busy} of ${slots.length} busy` : '';
    const body = clear($('workers').tBodies[0]);
    for (const s of slots) {
      const j = s.job;
      body.append(h('tr', { dataset: { slot: s.slot, busy: String(s.busy), jobId: j ? j.job_id : '' } },
        h('td', {}, `${s.kind === 'process' ? 'worker process' : 'thread'} ${s.slot}`),
        h('td', {}, h('span', { class: 'badge s-' + (s.busy ? 'busy' : 'idle') }, s.busy ? 'busy' : 'idle')),
        h('td', { class: 'mono' }, j ? h('a', { href: '#/jobs/' + encodeURIComponent(j.job_id) }, '#' + j.job_id) : ''),
        h('td', {}, j ? j.type : ''),
        h('td', { class: 'mono' }, j ? fmtTime(j.started) : '')));
    }
  }

  // ---- the throughput chart: GET /api/worker/throughput, drawn with Chart.js ----
  let chart = null;
  let chartData = '';
  async function loadThroughput() {
    if (!window.Chart) return;  // the vendored script did not load: no chart, the rest works
    const data = await api('GET', API + '/throughput');
    const minutes = data.minutes || [];
    const text = JSON.stringify(minutes);
    if (text === chartData) return;
    chartData = text;
    const labels = minutes.map((m) => new Date(m.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
    const series = (k) => minutes.map((m) => m[k]);
    const card = $('chart-card');
    card.dataset.done = String(minutes.reduce((a, m) => a + m.done, 0));
    card.dataset.failed = String(minutes.reduce((a, m) => a + m.failed, 0));
    card.dataset.retried = String(minutes.reduce((a, m) => a + m.retried, 0));
    if (!chart) {
      const css = getComputedStyle(document.documentElement);
      const color = (v) => css.getPropertyValue(v).trim();
      chart = new window.Chart($('throughput-chart'), {
        type: 'bar',
        data: { labels, datasets: [
          { label: 'done', data: series('done'), backgroundColor: color('--done'), stack: 'a' },
          { label: 'failed', data: series('failed'), backgroundColor: color('--failed'), stack: 'a' },
          { label: 'retried', data: series('retried'), backgroundColor: '#f0b429', stack: 'a' },
        ] },
        options: { animation: false, maintainAspectRatio: false, responsive: true,
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: 'bottom' } } },
      });
    } else {
      chart.data.labels = labels;
      ['done', 'failed', 'retried'].forEach((k, i) => { chart.data.datasets[i].data = series(k); });
      chart.update();
    }
    card.dataset.drawn = 'true';
  }

  // Panels the other sections add refresh with the poll; each is its own function.
  async function refreshExtras() {
    renderWorkers(state.lastStatus);
    await loadThroughput().catch(() => {});
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token').value = token();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('token').value.trim();
      if (v) localStorage.setItem(TOKEN_KEY, v); else localStorage.removeItem(TOKEN_KEY);
      start();
    });
    $('submit-type').addEventListener('change', (e) => showForm(e.target.value));
    readView();
    syncFilterInputs();
    $('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilters(); });
    for (const id of ['filter-type', 'filter-state', 'filter-since', 'filter-until']) $(id).addEventListener('change', applyFilters);
    $('filter-clear').addEventListener('click', () => setView({ limit: state.view.limit }));
    $('page-next').addEventListener('click', () => gotoPage(state.page.next));
    $('page-prev').addEventListener('click', () => gotoPage(state.page.prev));
    $('page-newest').addEventListener('click', () => gotoPage(null));
    $('pick-all').addEventListener('change', (e) => {
      const on = e.target.checked;  // read once: renderBulkBar sets it from the rows' boxes
      for (const b of $('jobs').tBodies[0].querySelectorAll('td.pick input')) b.checked = on;
      for (const j of state.lastJobs) { if (on) state.picked.add(j.job_id); else state.picked.delete(j.job_id); }
      renderBulkBar();
    });
    $('bulk-retry').addEventListener('click', () => bulk('Retry', 'POST', '/retry'));
    $('bulk-cancel').addEventListener('click', () => bulk('Cancel', 'DELETE', ''));
    $('bulk-clear').addEventListener('click', () => {
      state.picked.clear();
      $('bulk-result').textContent = '';
      renderJobs(state.lastJobs);
    });
    $('detail-close').addEventListener('click', closePanels);
    $('queue-close').addEventListener('click', closePanels);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closePanels(); });
    window.addEventListener('hashchange', route);
    window.addEventListener('popstate', () => { readView(); syncFilterInputs(); route(); refresh(); });
    route();
    start();
  });
})();
