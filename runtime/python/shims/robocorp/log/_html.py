"""log.html: one self-contained page (inline CSS and JS, no network) for a run.

Every string goes through the redacter before it is escaped, so a hidden value never
reaches the page, not even in the embedded JSON data.
"""

import json
import os
import time
from html import escape
from typing import List

from . import _state

_CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:20px;margin:0 0 6px}
h2{font-size:16px;margin:0;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
main{padding:16px 24px}
.summary,.meta{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
.badge.PASS,.badge.COMPLETED,.badge.DONE{background:var(--pass)}
.badge.FAIL,.badge.ERROR,.badge.FAILED{background:var(--fail)}
.badge.NOT_RUN,.badge.UNRELEASED{background:#8c959f}
section.task{border:1px solid var(--line);border-radius:6px;margin:0 0 16px;padding:12px 16px}
section.task.FAIL{border-left:4px solid var(--fail)}
section.task.PASS{border-left:4px solid var(--pass)}
.message{margin:8px 0;padding:6px 10px;background:#ffebe9;border-radius:4px;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid var(--line)}
th{font-size:12px;color:var(--muted);font-weight:600}
td.time{white-space:nowrap;color:var(--muted);font-family:ui-monospace,monospace;font-size:12px;width:1%}
td.level{white-space:nowrap;font-weight:600;font-size:12px;width:1%}
tr.lvl-ERROR td.level{color:var(--fail)} tr.lvl-WARN td.level{color:var(--warn)}
tr.lvl-DEBUG td.level{color:var(--muted)}
td.text{white-space:pre-wrap;word-break:break-word}
pre{background:var(--bg);padding:8px;border-radius:4px;overflow:auto;margin:4px 0;font-size:12px}
details.exception summary{cursor:pointer;color:var(--fail);font-weight:600}
table.vars td{font-family:ui-monospace,monospace;font-size:12px}
.controls{margin:0 0 12px;color:var(--muted)}
.controls label{margin-right:12px}
body.hide-DEBUG tr.lvl-DEBUG,body.hide-INFO tr.lvl-INFO,body.hide-WARN tr.lvl-WARN,body.hide-ERROR tr.lvl-ERROR{display:none}
td.payload{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.dropped{color:var(--muted);font-style:italic}
"""

_JS = """
(function(){
  for (const box of document.querySelectorAll('.controls input[data-level]')) {
    box.addEventListener('change', function(){
      document.body.classList.toggle('hide-' + box.dataset.level, !box.checked);
    });
  }
})();
"""


def _fmt_time(t) -> str:
    if not t:
        return ""
    lt = time.localtime(t)
    return time.strftime("%H:%M:%S", lt) + f".{int((t % 1) * 1000):03d}"


def _fmt_dt(t) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _fmt_dur(start, end) -> str:
    if not start or not end:
        return ""
    d = max(0.0, end - start)
    if d < 1:
        return f"{d * 1000:.0f} ms"
    if d < 120:
        return f"{d:.2f} s"
    return f"{int(d // 60)} min {d % 60:.0f} s"


class _Page:
    def __init__(self) -> None:
        self.r = _state.redacter.redact
        self.parts: List[str] = []

    def t(self, s) -> str:
        """Redacted, escaped text."""
        return escape(self.r(str(s)))

    def add(self, s: str) -> None:
        self.parts.append(s)

    def events(self, scope, css_class="events") -> None:
        rows = []
        for ev in scope.events:
            kind = ev["kind"]
            if kind == "message":
                if ev.get("html"):
                    body = self.r(ev["text"])
                else:
                    body = self.t(ev["text"])
                rows.append(
                    f'<tr class="msg lvl-{ev["level"]}"><td class="time">{_fmt_time(ev["time"])}'
                    f'</td><td class="level">{ev["level"]}</td><td class="text">{body}</td></tr>')
            elif kind == "console":
                rows.append(
                    f'<tr class="console lvl-INFO"><td class="time">{_fmt_time(ev["time"])}</td>'
                    f'<td class="level">{escape(ev["stream"])}</td>'
                    f'<td class="text"><pre>{self.t(ev["text"])}</pre></td></tr>')
            elif kind == "exception":
                rows.append(
                    f'<tr class="exc lvl-ERROR"><td class="time">{_fmt_time(ev["time"])}</td>'
                    f'<td class="level">ERROR</td><td class="text">{self.exception(ev)}</td></tr>')
        if scope.dropped:
            rows.append(f'<tr><td></td><td></td><td class="dropped">{scope.dropped} more '
                        'messages not shown (limit reached)</td></tr>')
        if rows:
            self.add(f'<table class="{css_class}"><tbody>' + "".join(rows) + "</tbody></table>")

    def exception(self, ev) -> str:
        out = [f'<details class="exception" open><summary>{self.t(ev["title"])}</summary>',
               f'<pre class="traceback">{self.t(ev["traceback"])}</pre>']
        for fr in ev["frames"]:
            if not fr["vars"]:
                continue
            out.append(f'<div class="meta">Variables in {self.t(fr["name"])} '
                       f'({self.t(os.path.basename(fr["file"]))}:{fr["line"]})</div>')
            out.append('<table class="vars"><tbody>' + "".join(
                f"<tr><td>{self.t(k)}</td><td>{self.t(v)}</td></tr>" for k, v in fr["vars"])
                + "</tbody></table>")
        out.append("</details>")
        return "".join(out)

    def items(self, task) -> None:
        c = task.item_counts
        if not c["reserved"] and not task.items:
            return
        self.add(f'<h3 class="items-title">Work items: {c["reserved"]} reserved, '
                 f'{c["done"]} done, {c["failed"]} failed'
                 + (f', {c["unreleased"]} not released' if c["unreleased"] else "") + "</h3>")
        rows = []
        for rec in task.items:
            state = rec.state or "UNRELEASED"
            msg = ""
            if rec.exception:
                e = rec.exception
                msg = " ".join(str(x) for x in (e.get("type"), e.get("code")) if x)
                if e.get("message"):
                    msg += (": " if msg else "") + str(e["message"])
            rows.append(
                f'<tr class="item" data-state="{escape(state)}" data-item-id="{self.t(rec.id)}">'
                f'<td>{rec.index or ""}</td><td>{self.t(rec.id)}</td>'
                f'<td><span class="badge {escape(state)}">{escape(state)}</span></td>'
                f'<td class="time">{_fmt_time(rec.start)}</td>'
                f'<td class="time">{_fmt_dur(rec.start, rec.end)}</td>'
                f'<td class="payload">{self.t(rec.payload)}</td><td class="text">{self.t(msg)}</td></tr>')
            if rec.events or rec.dropped:
                saved, self.parts = self.parts, []
                self.events(rec, "events item-events")
                inner, self.parts = "".join(self.parts), saved
                rows.append(f'<tr class="item-detail"><td></td><td colspan="6">{inner}</td></tr>')
        if task.items_not_shown > 0:
            rows.append(f'<tr><td></td><td colspan="6" class="dropped">{task.items_not_shown} '
                        'more work items not shown (limit reached; counted above)</td></tr>')
        self.add('<table class="items"><thead><tr><th>#</th><th>Work item</th><th>Status</th>'
                 '<th>Started</th><th>Duration</th><th>Payload</th><th>Message</th></tr></thead>'
                 "<tbody>" + "".join(rows) + "</tbody></table>")

    def task(self, idx, task) -> None:
        st = escape(task.status)
        self.add(f'<section class="task {st}" id="task-{idx}" data-task="{self.t(task.name)}" '
                 f'data-status="{st}">')
        self.add(f'<h2><span class="badge {st}">{st}</span><span class="task-name">'
                 f'{self.t(task.name)}</span><span class="meta">{_fmt_dur(task.start, task.end)}'
                 "</span></h2>")
        where = ""
        if task.source:
            where = f"{self.t(os.path.basename(task.source))}:{task.lineno} · "
        self.add(f'<div class="meta">{where}started {_fmt_time(task.start)}'
                 + (f" · ended {_fmt_time(task.end)}" if task.end else "") + "</div>")
        if task.doc:
            self.add(f'<div class="doc">{self.t(task.doc)}</div>')
        if task.arguments:
            self.add('<table class="vars args"><tbody>' + "".join(
                f"<tr><td>{self.t(k)}</td><td>{self.t(v)}</td></tr>" for k, v in task.arguments)
                + "</tbody></table>")
        if task.message and task.status != "PASS":
            self.add(f'<div class="message">{self.t(task.message)}</div>')
        self.events(task)
        self.items(task)
        self.add("</section>")


def _data(run) -> dict:
    """The run as JSON-able data (embedded in the page for tools; redacted)."""

    def events(scope):
        out = []
        for ev in scope.events:
            ev = dict(ev)
            if "frames" in ev:
                ev["frames"] = [dict(f, vars=[list(v) for v in f["vars"]]) for f in ev["frames"]]
            out.append(ev)
        return out

    return _state.redacter.redact_obj({
        "name": run.name, "status": run.status, "start": run.start, "end": run.end,
        "events": events(run),
        "tasks": [{
            "name": t.name, "libname": t.libname, "source": t.source, "lineno": t.lineno,
            "status": t.status, "message": t.message, "start": t.start, "end": t.end,
            "arguments": [list(a) for a in t.arguments], "events": events(t),
            "item_counts": dict(t.item_counts), "items_not_shown": t.items_not_shown,
            "items": [{"id": i.id, "index": i.index, "state": i.state, "payload": i.payload,
                       "exception": i.exception, "start": i.start, "end": i.end,
                       "events": events(i)} for i in t.items],
        } for t in run.tasks],
    })


def render(run) -> str:
    page = _Page()
    end = run.end or time.time()
    n_pass = sum(1 for t in run.tasks if t.status == "PASS")
    n_fail = sum(1 for t in run.tasks if t.status == "FAIL")
    status = run.status if run.status != "NOT_RUN" else ("FAIL" if n_fail else "PASS")
    data = json.dumps(_data(run), ensure_ascii=True, default=str).replace("</", "<\\/")
    page.add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
             f"<title>{page.t(run.name)} - Robocorp log</title><style>{_CSS}</style></head>")
    page.add(f'<body data-status="{escape(status)}"><header><h1>Log: <span id="run-name">'
             f"{page.t(run.name)}</span></h1>"
             f'<div class="summary"><span class="badge {escape(status)}" id="run-status">'
             f"{escape(status)}</span> started {_fmt_dt(run.start)} · duration "
             f'<span id="run-duration">{_fmt_dur(run.start, end)}</span> · {len(run.tasks)} '
             f"task{'s' if len(run.tasks) != 1 else ''}: {n_pass} passed, {n_fail} failed"
             "</div></header><main>")
    page.add('<div class="controls">Show: ' + "".join(
        f'<label><input type="checkbox" data-level="{lvl}" checked> {lvl}</label>'
        for lvl in ("DEBUG", "INFO", "WARN", "ERROR")) + "</div>")
    if run.events or run.dropped:
        page.add('<section class="run-events"><h2>Run</h2>')
        page.events(run)
        page.add("</section>")
    for idx, task in enumerate(run.tasks, 1):
        page.task(idx, task)
    page.add(f'</main><script type="application/json" id="log-data">{data}</script>'
             f"<script>{_JS}</script></body></html>\n")
    return "".join(page.parts)


def write(run, path) -> None:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    text = render(run)
    tmp = f"{path}.{os.getpid()}.{id(run)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
