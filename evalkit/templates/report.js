/* evalkit report: draws the table of conversations from the JSON embedded in the page.
   The page's Content-Security-Policy allows this script by its SHA-256, and nothing else.
   Everything from the run is untrusted: it is only ever set as textContent or as an attribute
   value on elements built here, never parsed as HTML. Links are fragment links (#suite/id/repeat). */
(function () {
  "use strict";
  var PAGE = 50;
  var STATUSES = ["fail", "error", "pass", "skipped"];
  // Index row layout, as written by evalkit/report/payload.py.
  var ANCHOR = 0, SUITE = 1, ID = 2, REPEAT = 3, STATUS = 4, TAGS = 5, SOURCE = 6, DURATION = 7,
    TURNS = 8, FAILING = 9, CHECKED = 10, FLAKY = 11, PROBLEM = 12;

  var root = document.getElementById("explorer");
  var indexNode = document.getElementById("evalkit-index");
  if (!root || !indexNode) { return; }
  var index = JSON.parse(indexNode.textContent);
  var rows = index.rows;
  var details = null;
  var haystacks = null;
  var byAnchor = {};
  rows.forEach(function (row, i) {
    byAnchor[row[ANCHOR]] = i;
    try { byAnchor[decodeURIComponent(row[ANCHOR])] = i; } catch (e) { /* keep the exact one */ }
  });
  var state = { status: {}, flaky: false, suite: "", tag: "", field: "", text: "", page: 0 };
  STATUSES.forEach(function (s) { state.status[s] = true; });
  var open = {};
  var visible = [];
  var controls = {};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function txt(parent, text) { parent.appendChild(document.createTextNode(text)); }
  function badge(status) { return el("span", "badge " + status, status); }
  function seconds(v) {
    if (v === null || v === undefined) { return "—"; }
    return v < 1 ? Math.round(v * 1000) + " ms" : v.toFixed(2) + " s";
  }
  function json(v) { return JSON.stringify(v === undefined ? null : v); }
  function getDetails() {
    if (!details) { details = JSON.parse(document.getElementById("evalkit-details").textContent); }
    return details;
  }
  function haystack(i) {
    if (!haystacks) {
      var all = getDetails();
      haystacks = rows.map(function (row, j) {
        var d = all[j];
        var parts = [row[ID], index.suites[row[SUITE]], row[SOURCE], row[PROBLEM], row[STATUS]];
        row[TAGS].forEach(function (t) { parts.push(index.tags[t]); });
        d.v.forEach(function (f) { parts.push(f[1], f[4], f[5], f[6]); });
        d.c.forEach(function (c) { parts.push(c[1], c[3]); });
        d.t.forEach(function (t) {
          (t.u || []).forEach(function (s) { parts.push(s[0]); });
          t.k.forEach(function (c) { parts.push(c[2] || "", c[3] || "", (c[4] || []).join(" "), c[5] || ""); });
        });
        if (d.e) { parts.push(d.e.message); }
        (d.w || []).forEach(function (w) { parts.push(w); });
        return parts.join("\n").toLowerCase();
      });
    }
    return haystacks[i];
  }

  function matches(i) {
    var row = rows[i];
    if (!state.status[row[STATUS]]) { return false; }
    if (state.flaky && !row[FLAKY]) { return false; }
    if (state.suite !== "" && row[SUITE] !== Number(state.suite)) { return false; }
    if (state.tag !== "" && row[TAGS].indexOf(Number(state.tag)) < 0) { return false; }
    if (state.field !== "") {
      var list = state.field.charAt(0) === "f" ? row[FAILING] : row[CHECKED];
      if (list.indexOf(state.field.slice(2)) < 0) { return false; }
    }
    return !state.text || haystack(i).indexOf(state.text) >= 0;
  }

  // ------------------------------------------------------------------ transcript
  function chunkNode(c) {
    var kind = c[0], label = c[1], text = c[2] || "", field = c[3] || "", options = c[4] || [],
      note = c[5] || "";
    if (kind === "text") { return el("div", "msg text" + (note === "BOLD" ? " bold" : ""), text); }
    var node = el("div", "chunk " + kind);
    add(node, el("span", "type", label));
    if (kind === "data") {
      var chip = add(node, el("span", "chip"));
      add(chip, el("code", "field", field));
      txt(chip, "= ");
      add(chip, el("code", "value", text));
    } else {
      if (field) { add(node, el("code", "field", field)); }
      options.forEach(function (o) { add(node, el("span", "opt", o)); });
      if (text) { add(node, el("span", "ctext", text)); }
    }
    if (note) { txt(node, " "); add(node, el("span", "muted", note)); }
    return node;
  }

  function transcriptNode(turns) {
    var list = el("ol", "turns");
    turns.forEach(function (t) {
      var item = add(list, el("li", "turn"));
      var head = add(item, el("div", "turn-head"));
      add(head, el("b", null, t.l));
      txt(head, " · ");
      add(head, el("span", "mono", t.e));
      txt(head, " · HTTP " + t.h + " · " + t.fr + " · first chunk " + t.f + " · total " + t.t);
      if (t.x) { txt(head, " "); add(head, badge("truncated")); }
      if (t.u) {
        var message = add(item, el("div", "msg user"));
        t.u.forEach(function (s) {
          if (s.length > 1) {
            var mark = add(message, el("mark", null, s[0]));
            mark.title = s[1].join(", ");
          } else { txt(message, s[0]); }
        });
      }
      if (t.cv) {
        var sent = add(item, el("div", "sent", "currentValues sent: "));
        add(sent, el("code", null, json(t.cv)));
      }
      (t.r || []).forEach(function (r) { add(item, el("div", "retry", r)); });
      t.k.forEach(function (c) { add(item, chunkNode(c)); });
    });
    return list;
  }

  function table(head, body) {
    var node = el("table", head.length > 4 ? "verdicts" : null);
    var tr = add(add(node, el("thead")), el("tr"));
    head.forEach(function (h) { add(tr, el("th", null, h)); });
    var tbody = add(node, el("tbody"));
    body.forEach(function (cells) {
      var row = add(tbody, el("tr"));
      cells.forEach(function (cell) {
        var td = add(row, el("td"));
        if (cell instanceof Node) { add(td, cell); } else { td.textContent = String(cell); }
      });
    });
    return node;
  }

  // A persona conversation (evalkit/report/personas.py; the server draws it in _persona.html.j2).
  function valuesNode(parent, pairs) {
    pairs.forEach(function (pair, j) {
      if (j) { txt(parent, ", "); }
      add(parent, el("code", "field", pair[0]));
      txt(parent, " = ");
      add(parent, el("code", "value", pair[1]));
    });
    if (!pairs.length) { txt(parent, "—"); }
    return parent;
  }

  function personaNode(p, verdicts) {
    var box = el("div", "persona");
    var head = add(box, el("h4", null, "Persona: " + p.n + " "));
    add(head, el("span", "muted", "simulated user, seed " + p.s));
    var rows = [["Values", valuesNode(el("span"), p.v)], ["Traits", p.tr],
      ["Asked, in order", p.o.join(" → ") || "—"], ["Stopped", p.st]];
    if (p.na.length) { rows.push(["Never asked", p.na.join(", ")]); }
    var kv = add(box, el("table", "kv"));
    rows.forEach(function (r) {
      var tr = add(kv, el("tr"));
      add(tr, el("th", null, r[0]));
      var td = add(tr, el("td"));
      if (r[1] instanceof Node) { add(td, r[1]); } else { td.textContent = r[1]; }
    });
    var qa = add(box, table(["Turn", "The assistant asked", "The persona answered", "Extracted that turn"],
      p.q.map(function (e) {
        var asked = el("span", null, e[1] + " ");
        add(asked, el("span", "muted", "(for " + e[2] + ")"));
        var answer = el("span", null, e[3]);
        if (e[4].length) { txt(answer, " "); add(answer, el("span", "muted", "(gives " + e[4].join(", ") + ")")); }
        return [e[0], asked, answer, valuesNode(el("span"), e[5])];
      })));
    qa.className = "qa";
    if (verdicts) { add(box, verdicts); }
    if (p.no.length) {
      var notes = add(box, el("div", "sim-notes"));
      add(notes, el("b", null, "Simulator notes"));
      txt(notes, " ");
      add(notes, el("span", "muted", "(the simulated user's own trouble, not the target's)"));
      var list = add(notes, el("ul"));
      p.no.forEach(function (n) { add(list, el("li", null, n)); });
    }
    return box;
  }

  function detailNode(i) {
    var d = getDetails()[i];
    var box = el("div", "detail-box");
    if (d.e) {
      var error = add(box, el("div", "error-box"));
      add(error, el("b", null, d.e.kind));
      var where = d.e.turn === null ? "" : d.e.turn === 0 ? " · session creation" : " · turn " + d.e.turn;
      txt(error, (d.e.status ? " · HTTP " + d.e.status : "") + (d.e.code ? " · " + d.e.code : "") + where + ": " + d.e.message);
    }
    if (d.w || d.rs) {
      var warnings = add(box, el("ul", "warnings"));
      (d.w || []).forEach(function (w) { add(warnings, el("li", null, w)); });
      (d.rs || []).forEach(function (r) { add(warnings, el("li", null, "restarted: " + r)); });
    }
    var verdicts = d.v.length ? table(["Turn", "Field", "Outcome", "Matcher", "Expected", "Actual", "Reason"],
      d.v.map(function (f) {
        return [f[0], el("code", null, f[1]), badge(f[2]), f[3], el("code", null, f[4]), el("code", null, f[5]), f[6]];
      })) : null;
    if (d.p) {
      add(box, personaNode(d.p, verdicts));
    } else if (verdicts) {
      add(box, el("h4", null, "Fields: expected and extracted"));
      add(box, verdicts);
    }
    if (d.c.length) {
      add(box, table(["Turn", "Check", "Verdict", "Reason"], d.c.map(function (c) {
        return [c[0] === null ? "conversation" : c[0], c[1], badge(c[2] ? "pass" : "fail"), c[3]];
      })));
    }
    add(box, el("h4", null, "Transcript" + (d.sid ? ", session " + d.sid : "")));
    add(box, transcriptNode(d.t));
    add(box, table(["Final state", "Submitted"], [[el("code", null, json(d.fs)), d.sb ? "yes" : "no"]]));
    return box;
  }

  // ------------------------------------------------------------------ table
  var tbody, summaryLine, pageLine, prevButton, nextButton;

  function rowNodes(i) {
    var row = rows[i];
    var tr = el("tr", open[i] ? "open" : null);
    var status = add(tr, el("td"));
    add(status, badge(row[STATUS]));
    if (row[FLAKY]) { txt(status, " "); add(status, badge("flaky")); }
    var name = add(tr, el("td"));
    var link = add(name, el("a", "conv", row[ID]));
    link.href = "#" + row[ANCHOR];
    link.setAttribute("aria-expanded", open[i] ? "true" : "false");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (open[i]) { delete open[i]; } else {
        open[i] = true;
        history.replaceState(null, "", "#" + row[ANCHOR]);
      }
      render();
    });
    if (row[REPEAT]) { txt(name, " "); add(name, el("span", "muted", "(repeat " + row[REPEAT] + ")")); }
    add(tr, el("td", null, index.suites[row[SUITE]]));
    add(tr, el("td", null, row[TAGS].map(function (t) { return index.tags[t]; }).join(", ")));
    add(tr, el("td", "num", row[TURNS]));
    add(tr, el("td", "num", seconds(row[DURATION])));
    add(tr, el("td", null, row[PROBLEM]));
    var out = [tr];
    if (open[i]) {
      var detail = el("tr", "detail");
      var cell = add(detail, el("td"));
      cell.colSpan = 7;
      add(cell, detailNode(i));
      out.push(detail);
    }
    return out;
  }

  function render() {
    visible = [];
    for (var i = 0; i < rows.length; i++) { if (matches(i)) { visible.push(i); } }
    var pages = Math.max(1, Math.ceil(visible.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * PAGE;
    var shown = visible.slice(start, start + PAGE);
    var fragment = document.createDocumentFragment();
    shown.forEach(function (j) { rowNodes(j).forEach(function (n) { fragment.appendChild(n); }); });
    tbody.textContent = "";
    tbody.appendChild(fragment);
    summaryLine.textContent = visible.length
      ? "Showing " + (start + 1) + "–" + (start + shown.length) + " of " + visible.length + " matching (" + rows.length + " in all)"
      : "No conversation matches the filters (" + rows.length + " in all)";
    pageLine.textContent = "page " + (state.page + 1) + " of " + pages;
    prevButton.disabled = state.page === 0;
    nextButton.disabled = state.page >= pages - 1;
  }

  function select(label, name, choices) {
    var wrap = el("label", null, label + " ");
    var node = add(wrap, el("select"));
    node.name = name;
    add(node, el("option", null, "any")).value = "";
    choices.forEach(function (c) {
      if (c.group) {
        var group = add(node, el("optgroup"));
        group.label = c.group;
        c.options.forEach(function (o) { add(group, el("option", null, o[1])).value = o[0]; });
      } else { add(node, el("option", null, c[1])).value = c[0]; }
    });
    node.addEventListener("change", function () { state[name] = node.value; state.page = 0; render(); });
    controls[name] = node;
    return wrap;
  }

  function build() {
    root.textContent = "";
    var bar = add(root, el("div", "filters"));
    var counts = {};
    rows.forEach(function (r) { counts[r[STATUS]] = (counts[r[STATUS]] || 0) + 1; });
    STATUSES.forEach(function (s) {
      if (!counts[s]) { return; }
      var label = add(bar, el("label"));
      var box = add(label, el("input"));
      box.type = "checkbox";
      box.checked = true;
      box.name = "status-" + s;
      box.addEventListener("change", function () { state.status[s] = box.checked; state.page = 0; render(); });
      controls["status-" + s] = box;
      txt(label, " " + s + " (" + counts[s] + ")");
    });
    if (rows.some(function (r) { return r[FLAKY]; })) {
      var flakyLabel = add(bar, el("label"));
      var flaky = add(flakyLabel, el("input"));
      flaky.type = "checkbox";
      flaky.name = "flaky";
      flaky.addEventListener("change", function () { state.flaky = flaky.checked; state.page = 0; render(); });
      controls.flaky = flaky;
      txt(flakyLabel, " only flaky");
    }
    add(bar, select("Suite", "suite", index.suites.map(function (s, i) { return [String(i), s]; })));
    if (index.tags.length) {
      add(bar, select("Tag", "tag", index.tags.map(function (t, i) { return [String(i), t]; })));
    }
    if (index.fields.length) {
      add(bar, select("Field", "field", [
        { group: "failing on", options: index.fields.map(function (f) { return ["f:" + f, f]; }) },
        { group: "checking", options: index.fields.map(function (f) { return ["c:" + f, f]; }) }
      ]));
    }
    var search = add(bar, el("input"));
    search.type = "search";
    search.name = "text";
    search.placeholder = "Search ids, messages, values, reasons…";
    search.setAttribute("aria-label", "Search");
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.text = search.value.trim().toLowerCase(); state.page = 0; render(); }, 120);
    });
    controls.text = search;
    var pager = add(root, el("div", "pager"));
    summaryLine = add(pager, el("span", "count"));
    prevButton = add(pager, el("button", "prev", "← previous"));
    pageLine = add(pager, el("span", "page"));
    nextButton = add(pager, el("button", "next", "next →"));
    prevButton.addEventListener("click", function () { state.page -= 1; render(); });
    nextButton.addEventListener("click", function () { state.page += 1; render(); });
    var grid = add(root, el("table", "conversations"));
    var head = add(add(grid, el("thead")), el("tr"));
    ["Status", "Conversation", "Suite", "Tags", "Turns", "Duration", "First problem"].forEach(function (h, i) {
      add(head, el("th", i === 4 || i === 5 ? "num" : null, h));
    });
    tbody = add(grid, el("tbody"));
  }

  function resetFilters() {
    STATUSES.forEach(function (s) { state.status[s] = true; if (controls["status-" + s]) { controls["status-" + s].checked = true; } });
    state.flaky = false; if (controls.flaky) { controls.flaky.checked = false; }
    ["suite", "tag", "field", "text"].forEach(function (name) {
      state[name] = "";
      if (controls[name]) { controls[name].value = ""; }
    });
  }

  // A link #suite/id/repeat opens that conversation: its failure above when there is one,
  // otherwise its row in the table (filters cleared if they hide it).
  function reveal() {
    var target = location.hash.slice(1);
    if (!target) { return; }
    var article = document.getElementById(target);
    if (article && article.tagName === "ARTICLE") {
      var box = article.querySelector("details");
      if (box) { box.open = true; }
      return;
    }
    var i = byAnchor[target];
    if (i === undefined) { try { i = byAnchor[decodeURIComponent(target)]; } catch (e) { return; } }
    if (i === undefined) { return; }
    if (!matches(i)) { resetFilters(); render(); }
    state.page = Math.floor(visible.indexOf(i) / PAGE);
    open[i] = true;
    render();
    var link = tbody.querySelector("tr.open a.conv[href=\"#" + CSS.escape(rows[i][ANCHOR]) + "\"]");
    if (link) { link.scrollIntoView({ block: "start" }); }
  }

  build();
  render();
  reveal();
  window.addEventListener("hashchange", reveal);
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
}());
