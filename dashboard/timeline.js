/* The call timeline of the Call review page: a lane per speaker (turns, events, evidence)
 * and both speakers' pitch and loudness contours underneath, on one shared time axis.
 * Scroll to zoom, drag to pan, double-click to go back to the first view; hover for details.
 *
 * Drawn as SVG by this small script instead of a charting library, so the page needs no
 * chart bundle (Vega alone is about 0.8 MB of JavaScript to load and compile) and the
 * timeline appears with the rest of the page. Data comes from the JSON blocks next to the
 * container (see dashboard/charts.py: timeline_data, timeline_html); all text from the call
 * is written with textContent or escaped, never parsed as HTML.
 */
(function (id) {
  "use strict";
  var box = document.getElementById(id);
  if (!box) return;
  var D = JSON.parse(document.getElementById(id + "-data").textContent);
  var V = JSON.parse(document.getElementById(id + "-view").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var LEFT = 150, RIGHT = 14, LANE = 34, TITLE = 20, AXIS = 22, GAP = 16, CH = 96;
  // colours that suit Streamlit's light and dark themes: from the text colour the page gives us
  var INK = getComputedStyle(box).color || "rgb(49, 51, 63)";
  var rgb = (INK.match(/[\d.]+/g) || [49, 51, 63]).map(Number);
  var dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140;
  var MUTED = dark ? "rgba(250, 250, 250, 0.65)" : "#6b6f7b", GRID = dark ? "rgba(255, 255, 255, 0.14)" : "#e8e8ec";
  var FOCUS = dark ? "#ffffff" : "#000000", TIP_BG = dark ? "#262730" : "#ffffff", TIP_LINE = dark ? "#555" : "#ccc";
  var dur = Math.max(D.duration || 0, 1);
  var home = V.window ? [V.window[0], V.window[1]] : [0, dur];
  var win = home.slice();

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function niceStep(span, n) {
    var steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    for (var i = 0; i < steps.length; i++) if (span / steps[i] <= n) return steps[i];
    return steps[steps.length - 1];
  }
  function yTicks(lo, hi) {
    var raw = (hi - lo) / 3, mag = Math.pow(10, Math.floor(Math.log10(raw || 1))), step = mag;
    [1, 2, 5, 10].some(function (k) { step = k * mag; return raw <= step; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 100) / 100);
    return out;
  }

  // contour y ranges over the whole call (like the first view of a chart)
  var measures = [
    { key: "pitch", title: "Pitch, in semitones from each speaker's usual pitch", axis: "Pitch (st)", unit: "st", zero: true },
    { key: "loudness", title: "Loudness (dB; higher = louder)", axis: "Loudness (dB)", unit: "dB", zero: false },
  ].filter(function (m) {
    var lo = Infinity, hi = -Infinity;
    (D.contours || []).forEach(function (c) {
      (c[m.key] || []).forEach(function (v) { if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; } });
    });
    if (lo === Infinity) return false;
    if (m.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (hi - lo < 1e-6) { hi = lo + 1; }
    var pad = (hi - lo) * 0.05;
    m.lo = lo - pad; m.hi = hi + pad;
    return true;
  });

  var legend = document.createElement("div");
  legend.className = "cr-tl-legend";
  legend.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:" + INK + ";margin:0 0 4px " + LEFT + "px";
  (D.legend || []).forEach(function (it) {
    var s = document.createElement("span"), sw = document.createElement("i");
    sw.style.cssText = "display:inline-block;width:10px;height:10px;margin-right:5px;vertical-align:-1px;background:" + it[1];
    s.appendChild(sw);
    s.appendChild(document.createTextNode(it[0]));
    legend.appendChild(s);
  });
  var svg = document.createElementNS(NS, "svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Call timeline: who spoke when, events and evidence, with pitch and loudness");
  svg.style.cssText = "display:block;touch-action:none;user-select:none;cursor:grab;font-family:inherit";
  var tip = document.createElement("div");
  tip.style.cssText = "position:absolute;display:none;pointer-events:none;z-index:5;max-width:360px;background:" + TIP_BG + ";border:1px solid " + TIP_LINE + ";" +
    "border-radius:4px;padding:5px 8px;font-size:12px;line-height:1.35;color:" + INK + ";box-shadow:0 2px 6px rgba(0,0,0,.15)";
  box.style.position = "relative";
  box.textContent = "";
  box.appendChild(legend);
  box.appendChild(svg);
  box.appendChild(tip);

  var nLanes = D.lanes.length;
  var laneTop = TITLE, laneBottom = TITLE + LANE * nLanes;
  var panels = measures.map(function (m, i) {
    var top = laneBottom + AXIS + GAP + i * (TITLE + CH + GAP);
    return { m: m, top: top + TITLE, bottom: top + TITLE + CH, titleY: top + 14 };
  });
  var height = (panels.length ? panels[panels.length - 1].bottom : laneBottom) + AXIS;
  var width = 0, plotW = 0, items = [];

  function X(t) { return LEFT + (t - win[0]) / (win[1] - win[0]) * plotW; }
  function T(x) { return win[0] + (x - LEFT) / plotW * (win[1] - win[0]); }
  function laneY(l) { return laneTop + l * LANE; }

  function draw() {
    width = Math.max(560, box.clientWidth || 900);
    plotW = width - LEFT - RIGHT;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    items = [];
    var o = [];
    o.push('<defs><clipPath id="' + id + '-clip"><rect x="' + LEFT + '" y="0" width="' + plotW + '" height="' + height + '"/></clipPath></defs>');
    o.push('<text x="' + LEFT + '" y="13" font-size="13" font-weight="600" fill="' + INK + '">Who spoke when <tspan font-weight="400" fill="' + MUTED +
      '">(scroll to zoom, drag to pan, double-click to go back)</tspan></text>');
    // lanes and their names
    D.lanes.forEach(function (name, l) {
      o.push('<text x="' + (LEFT - 8) + '" y="' + (laneY(l) + LANE / 2 + 4) + '" font-size="12" text-anchor="end" fill="' + INK + '">' + esc(name) + "</text>");
      o.push('<line x1="' + LEFT + '" x2="' + (width - RIGHT) + '" y1="' + (laneY(l) + LANE) + '" y2="' + (laneY(l) + LANE) + '" stroke="' + GRID + '"/>');
    });
    // time grid and axes
    var step = niceStep(win[1] - win[0], Math.max(4, Math.floor(plotW / 90)));
    var ticks = [];
    for (var t = Math.ceil(win[0] / step) * step; t <= win[1] + 1e-9; t += step) ticks.push(t);
    function axis(y) {
      ticks.forEach(function (t) {
        var x = X(t).toFixed(1);
        o.push('<line x1="' + x + '" x2="' + x + '" y1="' + y + '" y2="' + (y + 4) + '" stroke="#999"/>');
        o.push('<text x="' + x + '" y="' + (y + 16) + '" font-size="11" text-anchor="middle" fill="' + MUTED + '">' + fmt(t) + "</text>");
      });
    }
    function grid(y0, y1) {
      ticks.forEach(function (t) {
        var x = X(t).toFixed(1);
        o.push('<line x1="' + x + '" x2="' + x + '" y1="' + y0 + '" y2="' + y1 + '" stroke="' + GRID + '"/>');
      });
    }
    grid(laneTop, laneBottom);
    axis(laneBottom);
    o.push('<g clip-path="url(#' + id + '-clip)">');
    function visible(s, e) { return e >= win[0] && s <= win[1]; }
    function rect(x0, x1, y, h, attrs, key) {
      var a = X(x0), b = Math.max(X(x1), a + 1);
      o.push('<rect x="' + a.toFixed(1) + '" y="' + y.toFixed(1) + '" width="' + (b - a).toFixed(1) + '" height="' + h.toFixed(1) + '" ' + attrs +
        (key !== undefined ? ' data-k="' + key + '"' : "") + "/>");
    }
    function add(tipRows) { items.push(tipRows); return items.length - 1; }
    (D.spans || []).forEach(function (r) {
      if (visible(r.s, r.e)) rect(r.s, r.e, laneTop, LANE * nLanes, 'fill="' + r.c + '" fill-opacity="0.35"', add(r.tip));
    });
    (D.turns || []).forEach(function (r) {
      if (visible(r.s, r.e)) rect(r.s, r.e, laneY(r.l) + LANE * 0.225, LANE * 0.55, 'fill="' + r.c + '" rx="2"', add(r.tip));
    });
    (D.marks || []).forEach(function (r) {
      if (visible(r.s, r.e)) rect(r.s, r.e, laneY(r.l) + LANE * 0.075, LANE * 0.85, 'fill="none" stroke="' + r.c + '" stroke-width="2.5" pointer-events="stroke"', add(r.tip));
    });
    (D.inter || []).forEach(function (r) {
      if (!visible(r.s, r.s)) return;
      var x = X(r.s), y = laneY(r.l) + 3;
      o.push('<path d="M' + (x - 7).toFixed(1) + "," + y + " L" + (x + 7).toFixed(1) + "," + y + " L" + x.toFixed(1) + "," + (y + 10) +
        ' Z" fill="' + r.c + '" data-k="' + add(r.tip) + '"/>');
    });
    (D.evidence || []).forEach(function (r) {
      if (!visible(r.s, r.s)) return;
      var x = X(r.s), y = laneY(r.l) + LANE / 2;
      o.push('<path d="M' + x.toFixed(1) + "," + (y - 7) + " L" + (x + 6).toFixed(1) + "," + y + " L" + x.toFixed(1) + "," + (y + 7) + " L" +
        (x - 6).toFixed(1) + "," + y + ' Z" fill="' + r.c + '" fill-opacity="0.95" data-k="' + add(r.tip) + '"/>');
    });
    o.push("</g>");
    // contour panels
    panels.forEach(function (p) {
      var m = p.m;
      function Y(v) { return p.bottom - (v - m.lo) / (m.hi - m.lo) * CH; }
      o.push('<text x="' + LEFT + '" y="' + p.titleY + '" font-size="13" font-weight="600" fill="' + INK + '">' + esc(m.title) + "</text>");
      o.push('<text transform="translate(14,' + ((p.top + p.bottom) / 2) + ') rotate(-90)" font-size="11" text-anchor="middle" fill="' + MUTED + '">' + esc(m.axis) + "</text>");
      o.push('<rect x="' + LEFT + '" y="' + p.top + '" width="' + plotW + '" height="' + CH + '" fill="none" stroke="' + GRID + '" data-panel="' + m.key + '"/>');
      yTicks(m.lo, m.hi).forEach(function (v) {
        var y = Y(v).toFixed(1);
        o.push('<line x1="' + LEFT + '" x2="' + (width - RIGHT) + '" y1="' + y + '" y2="' + y + '" stroke="' + GRID + '"/>');
        o.push('<text x="' + (LEFT - 6) + '" y="' + (+y + 4) + '" font-size="11" text-anchor="end" fill="' + MUTED + '">' + v + "</text>");
      });
      grid(p.top, p.bottom);
      axis(p.bottom);
      o.push('<g clip-path="url(#' + id + '-clip)">');
      (D.contours || []).forEach(function (c) {
        var vals = c[m.key] || [], d = [], pen = false;
        var i0 = Math.max(0, Math.floor((win[0] - c.t0) / c.dt) - 1), i1 = Math.min(vals.length - 1, Math.ceil((win[1] - c.t0) / c.dt) + 1);
        for (var i = i0; i <= i1; i++) {
          var v = vals[i];
          if (v === null) { pen = false; continue; }
          d.push((pen ? "L" : "M") + X(c.t0 + i * c.dt).toFixed(1) + "," + Y(v).toFixed(1));
          pen = true;
        }
        if (d.length) o.push('<path d="' + d.join("") + '" fill="none" stroke="' + c.c + '" stroke-width="1.4" stroke-linejoin="round" pointer-events="none"/>');
      });
      o.push("</g>");
    });
    // the moment being played
    if (V.focus && visible(V.focus.s, V.focus.e)) {
      o.push('<g clip-path="url(#' + id + '-clip)" pointer-events="none">');
      var fy = [[laneTop, laneBottom]].concat(panels.map(function (p) { return [p.top, p.bottom]; }));
      fy.forEach(function (r) {
        rect(V.focus.s, Math.max(V.focus.e, V.focus.s + 0.2), r[0], r[1] - r[0], 'fill="' + FOCUS + '" fill-opacity="0.12"');
        var x = X(V.focus.s).toFixed(1);
        o.push('<line x1="' + x + '" x2="' + x + '" y1="' + r[0] + '" y2="' + r[1] + '" stroke="' + FOCUS + '" stroke-width="2" stroke-dasharray="4 3"/>');
      });
      o.push("</g>");
    }
    o.push('<line class="cr-tl-hair" x1="0" x2="0" y1="0" y2="0" stroke="' + MUTED + '" stroke-width="1" visibility="hidden" pointer-events="none"/>');
    svg.innerHTML = o.join("");
    box.dataset.window = win[0].toFixed(2) + "," + win[1].toFixed(2);
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }
  function setWindow(lo, hi) {
    var span = Math.min(Math.max(hi - lo, 1), dur);
    lo = Math.min(Math.max(lo, 0), dur - span);
    win = [lo, lo + span];
    redraw();
  }

  // hover details
  function showTip(rows, ev) {
    tip.textContent = "";
    rows.forEach(function (r) {
      var line = document.createElement("div");
      if (r[0]) {
        var b = document.createElement("b");
        b.textContent = r[0] + ": ";
        line.appendChild(b);
      }
      line.appendChild(document.createTextNode(r[1]));
      tip.appendChild(line);
    });
    var rect = box.getBoundingClientRect();
    var x = ev.clientX - rect.left + 14, y = ev.clientY - rect.top + 14;
    tip.style.display = "block";
    if (x + tip.offsetWidth > rect.width) x = Math.max(0, ev.clientX - rect.left - tip.offsetWidth - 10);
    if (y + tip.offsetHeight > rect.height) y = Math.max(0, ev.clientY - rect.top - tip.offsetHeight - 10);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() {
    tip.style.display = "none";
    var h = svg.querySelector(".cr-tl-hair");
    if (h) h.setAttribute("visibility", "hidden");
  }
  function contourTip(ev, x, y) {
    var p = panels.filter(function (p) { return y >= p.top && y <= p.bottom; })[0];
    if (!p || x < LEFT || x > width - RIGHT) return false;
    var t = T(x), rows = [["At", fmt(t)]];
    (D.contours || []).forEach(function (c) {
      var i = Math.round((t - c.t0) / c.dt), v = (c[p.m.key] || [])[i];
      rows.push([c.who, v === null || v === undefined ? "not speaking" : (v > 0 && p.m.zero ? "+" : "") + v.toFixed(1) + " " + p.m.unit]);
    });
    var h = svg.querySelector(".cr-tl-hair");
    if (h) {
      h.setAttribute("x1", x); h.setAttribute("x2", x);
      h.setAttribute("y1", p.top); h.setAttribute("y2", p.bottom);
      h.setAttribute("visibility", "visible");
    }
    showTip(rows, ev);
    return true;
  }
  function local(ev) {
    var r = svg.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }

  var drag = null;
  svg.addEventListener("pointermove", function (ev) {
    var xy = local(ev);
    if (drag) {
      var dt = (xy[0] - drag.x) / plotW * (drag.win[1] - drag.win[0]);
      setWindow(drag.win[0] - dt, drag.win[1] - dt);
      hideTip();
      return;
    }
    var k = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-k");
    if (k !== null && k !== undefined && items[+k]) showTip(items[+k], ev);
    else if (!contourTip(ev, xy[0], xy[1])) hideTip();
  });
  svg.addEventListener("pointerleave", hideTip);
  svg.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = { x: local(ev)[0], win: win.slice() };
    svg.setPointerCapture(ev.pointerId);
    svg.style.cursor = "grabbing";
  });
  function endDrag(ev) {
    if (!drag) return;
    drag = null;
    svg.style.cursor = "grab";
    try { svg.releasePointerCapture(ev.pointerId); } catch (e) { /* already released */ }
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("wheel", function (ev) {
    var x = local(ev)[0];
    if (x < LEFT || x > width - RIGHT) return;
    ev.preventDefault();
    var dy = ev.deltaY * (ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1);
    var f = Math.exp(dy * 0.002), t = T(x);
    setWindow(t - (t - win[0]) * f, t + (win[1] - t) * f);
  }, { passive: false });
  svg.addEventListener("dblclick", function () { setWindow(home[0], home[1]); });
  if (window.ResizeObserver) {
    var lastW = 0;
    new ResizeObserver(function () {
      if (box.clientWidth && box.clientWidth !== lastW) { lastW = box.clientWidth; redraw(); }
    }).observe(box);
  }
  draw();
})
