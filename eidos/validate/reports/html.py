"""``-o html``: one self-contained page for a fleet — summary first, then a nodes x checks heat map.

Self-contained: CSS and JavaScript are inline and a Content-Security-Policy of
``default-src 'none'`` forbids the page any network access, so it opens the same from a CI
artifact, an e-mail or an air-gapped laptop. Every string that comes from a snapshot or a
rule (node names, values found, check ids) passes through ``html.escape`` before it is
written; nothing is inserted unescaped, and the script only reads ``data-`` attributes and
moves rows, it never builds HTML from text.

The heat map stays usable at 10,000 nodes because rows are *groups of identical nodes*
(the same status for every check): a healthy fleet is one row, and a driver mismatch on 300
nodes is one more. A node filter, a check filter, a "failing only" switch and sorting (by
failures, group size, name, or any check's column) work in the page, without a server.
Columns are the checks that did not pass on some node; "all checks" shows the rest.
"""

from __future__ import annotations

from html import escape

from eidos import __version__

SYMBOL = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "–", "error": "?", "none": ""}
_BAD = ("fail", "error")
NAMES_SHOWN = 3

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b}
h1{font-size:1.4em}h1 .fail{color:#b00020}h1 .pass{color:#1b7f3b}
.figures span{display:inline-block;margin-right:1.2em}
.figures b{font-size:1.3em}
ul.failing li{margin:.3em 0}ul.failing code{font-weight:bold}
.controls{margin:.8em 0;display:flex;gap:.8em;flex-wrap:wrap;align-items:center}
table.heat{border-collapse:collapse;font-size:12px}
table.heat th,table.heat td{border:1px solid #ddd;padding:2px 4px}
table.heat thead th.col{writing-mode:vertical-rl;transform:rotate(180deg);
 white-space:nowrap;cursor:pointer;text-align:left}
table.heat tbody th{text-align:left;font-weight:normal;white-space:nowrap;max-width:28em;overflow:hidden}
td.c{text-align:center;min-width:1.4em}
.s-pass{background:#d6f0dc;color:#1b5e20}.s-fail{background:#e53935;color:#fff;font-weight:bold}
.s-error{background:#8e24aa;color:#fff;font-weight:bold}.s-warn{background:#ffd54f;color:#4e3b00}
.s-skip{background:#f2f2f2;color:#999}.s-none{background:#fff}
tr.hidden,.quiet-hidden{display:none}
details ol{margin:.2em 0 .2em 1em;padding:0;max-height:20em;overflow:auto}
.count{font-weight:bold}
"""

_JS = """
(function(){
  var body=document.querySelector('#heat tbody');
  var rows=Array.prototype.slice.call(body.rows);
  var node=document.getElementById('node-filter'),check=document.getElementById('check-filter');
  var only=document.getElementById('only-failing'),all=document.getElementById('all-checks');
  var sort=document.getElementById('sort');
  var cols=Array.prototype.slice.call(document.querySelectorAll('#heat thead th.col'));
  function apply(){
    var n=node.value.toLowerCase(),c=check.value.toLowerCase(),shown=0;
    var hide={};
    cols.forEach(function(th,i){
      var h=(c&&th.getAttribute('data-check').toLowerCase().indexOf(c)<0)||
            (!all.checked&&th.getAttribute('data-quiet')==='1');
      hide[i]=h;th.classList.toggle('quiet-hidden',h);
    });
    rows.forEach(function(tr){
      var ok=(!n||tr.getAttribute('data-nodes').toLowerCase().indexOf(n)>=0)&&
             (!only.checked||tr.getAttribute('data-bad')!=='0');
      tr.classList.toggle('hidden',!ok);if(ok){shown+=+tr.getAttribute('data-size');}
      for(var i=0;i<cols.length;i++){tr.cells[i+1].classList.toggle('quiet-hidden',hide[i]);}
    });
    document.getElementById('shown').textContent=String(shown);
  }
  var RANK={fail:0,error:1,warn:2,none:3,skip:4,pass:5};
  function order(key,col){
    rows.sort(function(a,b){
      if(col!==undefined){
        var d=RANK[a.cells[col+1].getAttribute('data-status')]-RANK[b.cells[col+1].getAttribute('data-status')];
        if(d)return d;
      }
      if(key==='size')return b.getAttribute('data-size')-a.getAttribute('data-size');
      if(key==='name')return a.getAttribute('data-name')<b.getAttribute('data-name')?-1:1;
      return (b.getAttribute('data-bad')-a.getAttribute('data-bad'))||
             (b.getAttribute('data-size')-a.getAttribute('data-size'));
    });
    rows.forEach(function(tr){body.appendChild(tr);});
  }
  [node,check].forEach(function(e){e.addEventListener('input',apply);});
  [only,all].forEach(function(e){e.addEventListener('change',apply);});
  sort.addEventListener('change',function(){order(sort.value);});
  cols.forEach(function(th,i){th.addEventListener('click',function(){order(sort.value,i);});});
  apply();
})();
"""


def _e(text) -> str:
    return escape(str(text), quote=True)


def _figures(s) -> str:
    parts = [("nodes", s.nodes), ("passing", s.standing["pass"]), ("failing", s.standing["fail"]),
             ("erroring", s.standing["error"])]
    if s.unreadable:
        parts.append(("unreadable", len(s.unreadable)))
    return "".join(f'<span id="count-{name}"><b>{n}</b> {name}</span>' for name, n in parts)


def _failing(s) -> str:
    if not s.by_value:
        return "<p>No check fails on any node.</p>"
    out = ['<ul class="failing">']
    for rid in sorted(s.by_value):
        groups = s.by_value[rid]
        total = sum(len(v) for v in groups.values())
        out.append(f"<li><code>{_e(rid)}</code>: {total} node(s)<ul>")
        for found, nodes in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            names = ", ".join(_e(n) for n in nodes[:8]) + (f", … (+{len(nodes) - 8})" if len(nodes) > 8 else "")
            out.append(f"<li>{len(nodes)} × found <code>{_e(found)}</code>: {names}</li>")
        out.append("</ul></li>")
    out.append("</ul>")
    return "".join(out)


def _heat_map(s) -> str:
    columns = sorted(s.columns)
    groups = [(dict(cells), nodes) for cells, nodes in s.groups.items()]
    loud = {c for cells, _ in groups for c, st in cells.items() if st not in ("pass", "skip")}
    head = ['<thead><tr><th>nodes</th>']
    for c in columns:
        head.append(f'<th class="col" data-check="{_e(c)}" data-quiet="{0 if c in loud else 1}" '
                    f'title="{_e(c)}">{_e(c)}</th>')
    head.append("</tr></thead>")
    # worst groups first, then larger; the page re-sorts on request
    groups.sort(key=lambda g: (-sum(st in _BAD for st in g[0].values()), -len(g[1]), g[1][0]))
    body = ["<tbody>"]
    for cells, nodes in groups:
        bad = sum(st in _BAD for st in cells.values())
        label = (_e(nodes[0]) if len(nodes) == 1 else
                 f'<details><summary><span class="count">{len(nodes)} nodes</span>: '
                 f'{", ".join(_e(n) for n in nodes[:NAMES_SHOWN])}{", …" if len(nodes) > NAMES_SHOWN else ""}'
                 f'</summary><ol>{"".join(f"<li>{_e(n)}</li>" for n in nodes)}</ol></details>')
        body.append(f'<tr data-nodes="{_e(chr(10).join(nodes))}" data-bad="{bad}" data-size="{len(nodes)}" '
                    f'data-name="{_e(nodes[0])}"><th>{label}</th>')
        who = nodes[0] if len(nodes) == 1 else f"{len(nodes)} nodes"
        for c in columns:
            st = cells.get(c, "none")
            shown = "not in this node's plan" if st == "none" else st
            body.append(f'<td class="c s-{st}" data-check="{_e(c)}" data-status="{st}" '
                        f'title="{_e(c)} on {_e(who)}: {shown}" aria-label="{_e(c)}: {shown}">{SYMBOL[st]}</td>')
        body.append("</tr>")
    body.append("</tbody>")
    return '<table id="heat" class="heat">' + "".join(head) + "".join(body) + "</table>"


def render_html(s) -> str:
    """The whole page for a ``FleetSummary`` built with ``heat_map=True``."""
    verdict = "FAIL" if s.exit_code else "PASS"
    rule = f"--fail-on {s.fail_on}" + (", --allow-errors" if s.allow_errors else "")
    unreadable = ""
    if s.unreadable:
        items = "".join(f"<li>{_e(why)}</li>" for _, why in s.unreadable)
        unreadable = f"<h2>Unreadable snapshots ({len(s.unreadable)})</h2><ul>{items}</ul>"
    recipe = f"<p>Recipe: <code>{_e(s.recipe_source)}</code></p>" if s.recipe_source else ""
    controls = (
        '<div class="controls">'
        '<label>node <input id="node-filter" type="search" placeholder="filter by node name"></label>'
        '<label>check <input id="check-filter" type="search" placeholder="filter by check"></label>'
        '<label><input id="only-failing" type="checkbox"> failing or erroring only</label>'
        '<label><input id="all-checks" type="checkbox"> all checks (also those passing everywhere)</label>'
        '<label>sort <select id="sort"><option value="bad">most failures first</option>'
        '<option value="size">largest group first</option><option value="name">node name</option>'
        '</select></label><span><span id="shown"></span> node(s) shown</span></div>'
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>eidos validate: {verdict}</title><style>{_CSS}</style></head><body>"
        f'<h1>eidos validate: <span class="{verdict.lower()}" id="result">{verdict}</span></h1>'
        f'<p class="figures">{_figures(s)}</p>'
        f"<p>{_e(rule)}; verdicts: "
        + ", ".join(f"{n} {st}" for st, n in s.verdict_counts().items())
        + f"</p>{recipe}<h2>Failing checks</h2>{_failing(s)}{unreadable}"
        f"<h2>Heat map: nodes × checks</h2><p>Rows are groups of nodes with the same status on every "
        f"check; {len(s.groups)} group(s).</p>{controls}{_heat_map(s)}"
        f"<footer><p>eidos {_e(__version__)}</p></footer>"
        f"<script>{_JS}</script></body></html>\n"
    )


def render(report) -> str:
    """An in-memory ``Report`` (``--from-log`` and other non-streamed runs) as the same page."""
    from eidos.validate.reports.summary import FleetSummary, summarize

    s = FleetSummary(report.fail_on, report.allow_errors, report.recipe_source, heat_map=True)
    for n in report.nodes:
        s.add(summarize(n, report.fail_on, report.allow_errors, cells=True))
    for source, why in report.unreadable:
        s.add_unreadable(source, why)
    return render_html(s)
