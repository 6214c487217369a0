// robotni dashboard: plain JS, no build step. Polls the JSON API (every second by default,
// ?poll=<ms> to change it) and renders job queues, schedules, jobs, robot queues, a job's detail
// and the submit forms.
'use strict';

(() => {
  const API = '/api/worker';
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(200, Number(params.get('poll')) || 1000);
  const TOKEN_KEY = 'robotni.token';
  const $ = (id) => document.getElementById(id);

  const state = {
    types: [],
    selected: null,      // job id shown in the detail panel
    features: {},        // optional routes: flush, log, retry
    logs: {},            // job id -> captured output (null: none)
    timer: null,
    busy: false,
    lastJobs: [],
    optimistic: null,    // the job just submitted, until the list shows it
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
      h('td', { class: 'name' }, q),
      ['queued', 'scheduled', 'running', 'done', 'failed', 'cancelled'].map((k) =>
        h('td', { class: 'num' + (c[k] ? ' nz c-' + k : '') }, c[k] || 0)),
      ...rest);
  }

  function renderStatus(st) {
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

  // Periodic jobs (GET /api/worker/schedules): shown only when there is one.
  function renderSchedules(list) {
    const body = clear($('schedules').tBodies[0]);
    $('schedules-card').hidden = list.length === 0;
    for (const s of list) {
      body.append(h('tr', { dataset: { schedule: s.name }, class: s.paused ? 'paused' : null },
        h('td', { class: 'name' }, s.name),
        h('td', {}, s.type),
        h('td', { class: 'mono' }, s.cron),
        h('td', {}, s.timezone),
        h('td', { class: 'state' }, h('span', { class: 'badge ' + (s.paused ? 's-cancelled' : 's-done') },
          s.paused ? 'paused' : 'active')),
        h('td', {}, s.last_tick ? fmtTime(s.last_tick) : ''),
        h('td', { class: 'next' }, s.next_run ? fmtTime(s.next_run) : '-'),
        h('td', { class: 'act' }, h('button', {
          class: 'small' + (s.paused ? '' : ' ghost'), type: 'button',
          'data-action': s.paused ? 'resume' : 'pause',
          onclick: () => pauseSchedule(s.name, !s.paused) }, s.paused ? 'Resume' : 'Pause'))));
    }
  }

  function renderJobs(jobs) {
    state.lastJobs = jobs;
    // A job just submitted shows at once, as the POST answered, until the list has it.
    const o = state.optimistic;
    if (o) {
      if (jobs.some((j) => j.job_id === o.job_id)) state.optimistic = null;
      else if ((!$('filter-type').value || $('filter-type').value === o.type) &&
               (!$('filter-state').value || $('filter-state').value === o.status)) jobs = [o, ...jobs];
    }
    const body = clear($('jobs').tBodies[0]);
    $('jobs-empty').hidden = jobs.length > 0;
    for (const j of jobs) {
      body.append(h('tr', {
          class: j.job_id === state.selected ? 'selected' : '',
          dataset: { jobId: j.job_id, state: j.status, type: j.type },
          onclick: () => select(j.job_id) },
        h('td', { class: 'mono' }, '#' + j.job_id),
        h('td', {}, j.type),
        h('td', {}, badge(j.status)),
        h('td', { class: 'num' }, `${j.attempts}/${j.max_attempts}`),
        h('td', { class: 'num mono' }, fmtTime(j.timeline && j.timeline.timeQueued)),
        h('td', { class: 'num' }, duration(j)),
        h('td', { class: 'act' }, jobActions(j))));
    }
  }

  function renderDetail(job, events, log) {
    $('detail-card').hidden = false;
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

  function select(id) {
    state.selected = id;
    for (const tr of $('jobs').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.jobId === id);
    loadDetail().catch((e) => showBanner('Job ' + id + ': ' + e.message, 'error'));
  }

  // ---- submit forms generated from the input schemas ----
  function fieldFor(name, prop, required) {
    const id = 'f-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
    const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type;
    const common = { id, name, 'data-field': name, 'data-type': type || 'string', required };
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
        state.selected = String(res.job_id);
        state.optimistic = { job_id: String(res.job_id), type: t.type, status: res.status || 'queued',
          params: p, attempts: 0, max_attempts: t.max_attempts || '', timeline: { timeQueued: new Date().toISOString() } };
        renderJobs(state.lastJobs || []);
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
    const keep = filter.value;
    clear(filter).append(h('option', { value: '' }, 'all types'));
    for (const t of state.types) {
      sel.append(h('option', { value: t.type }, t.type));
      filter.append(h('option', { value: t.type }, t.type));
    }
    filter.value = keep;
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
      const q = new URLSearchParams({ limit: '50' });
      if ($('filter-type').value) q.set('type', $('filter-type').value);
      if ($('filter-state').value) q.set('state', $('filter-state').value);
      const [st, jobs, sched] = await Promise.all([api('GET', API + '/status'),
        api('GET', `${API}/jobs?${q}`),
        api('GET', API + '/schedules').catch((e) => (e.status === 404 ? { schedules: [] } : Promise.reject(e)))]);
      renderStatus(st);
      renderSchedules(sched.schedules || []);
      renderJobs(jobs.jobs || []);
      if (state.selected) await loadDetail().catch(() => {});
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

  document.addEventListener('DOMContentLoaded', () => {
    $('token').value = token();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('token').value.trim();
      if (v) localStorage.setItem(TOKEN_KEY, v); else localStorage.removeItem(TOKEN_KEY);
      start();
    });
    $('submit-type').addEventListener('change', (e) => showForm(e.target.value));
    $('filter-type').addEventListener('change', refresh);
    $('filter-state').addEventListener('change', refresh);
    $('detail-close').addEventListener('click', () => {
      state.selected = null;
      $('detail-card').hidden = true;
      for (const tr of $('jobs').tBodies[0].rows) tr.classList.remove('selected');
    });
    start();
  });
})();
