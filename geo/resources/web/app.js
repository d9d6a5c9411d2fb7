/* Web map behaviour: styles, popups, legend, project list, filters, language.
 *
 * Safety rule: every string that comes from the report or the gazetteer is put
 * into the page with textContent / createTextNode / setAttribute, never with
 * innerHTML.  Links are made only from http(s) URLs (or vetted relative
 * download paths).  Colours and dash arrays come from statuses.json /
 * themes.json (validated as #RRGGBB and numbers when the page is built).
 *
 * Test hook: window.GEOMAP (drawnIds, openProject, setLang, state).
 */
(function () {
  "use strict";

  var I18N = window.GEOMAP_I18N;
  var SVGNS = "http://www.w3.org/2000/svg";
  var D = null;            // data document (parsed lazily: it sits in <head>)
  var ctx = null;          // {map, control, boundaries, groups}
  var statusBy = {}, themeBy = {};
  var featureLayers = {};  // project id -> [leaflet layers]
  var layerGroupOf = {};   // project id -> layer group key
  var choro = null, legendBox = null;
  var state = {lang: "zh", q: "", theme: "", status: "", part: "", district: "", outcome: "",
               metric: "n_projects"};

  function isEmbed() {
    // The embed variant differs from the full page only by this class on the body,
    // so both pages are rendered once and share every byte of data and script.
    return document.body.classList.contains("geomap-embed");
  }

  function data() {
    if (!D) {
      D = JSON.parse(document.getElementById("geomap-data").textContent);
      D.style.statuses.forEach(function (s) { statusBy[s.code] = s; });
      D.style.themes.forEach(function (t) { themeBy[t.id] = t; });
    }
    return D;
  }

  /* ---------------------------------------------------------------- helpers */

  function t(key) {
    var table = I18N[state.lang] || I18N.zh;
    return key in table ? table[key] : (key in I18N.zh ? I18N.zh[key] : key);
  }

  function fmt(key, values) {
    return t(key).replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "className") { node.className = attrs[k]; }
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) {
        node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function isHttpUrl(s) {
    if (typeof s !== "string" || !/^https?:\/\/[^\s<>"']+$/i.test(s)) { return false; }
    try { var u = new URL(s); return u.protocol === "http:" || u.protocol === "https:"; }
    catch (e) { return false; }
  }

  function isSafeRelative(s) {
    return typeof s === "string" && /^[A-Za-z0-9_.][A-Za-z0-9_./%-]*$/.test(s) &&
      s.slice(0, 2) !== "//";
  }

  function statusOf(p) { return statusBy[p.status] || statusBy.other; }
  function themeOf(p) { return themeBy[p.theme] || themeBy[data().style.themes[0].id]; }
  function bi(obj) { return state.lang === "en" ? obj.en : obj.zh; }
  function both(obj) { return obj.zh + " / " + obj.en; }

  /* A district's name in the page's language: English from the build's table
   * (geo/resources/district_names_en.json) where it has one, else as written. */
  function districtName(zh) {
    var en = (data().district_en || {})[zh];
    return state.lang === "en" && en ? en : zh;
  }

  function districtNames(list, sep) { return list.map(districtName).join(sep); }

  function dashString(dash, width) {
    if (!dash || !dash.length) { return null; }
    return dash.map(function (d) { return d * width; }).join(" ");
  }

  function isDotted(dash) {
    return !!dash && dash.length > 0 && Math.min.apply(null, dash) <= 1;
  }

  /* ---------------------------------------------------------------- styling */

  function lineStyle(s, width) {
    return {color: s.color, weight: width, opacity: s.opacity,
            dashArray: dashString(s.dash, width),
            lineCap: isDotted(s.dash) ? "round" : "butt"};
  }

  function featureStyle(feature) {
    var p = data().projects[feature.properties.i];
    var polygon = /Polygon/.test(feature.geometry.type);
    var style = lineStyle(statusOf(p), polygon ? 2 : 4);
    // A county or the city drawn only because no finer location is known: outline,
    // no fill, so it does not read as the project's extent (same rule as the QGIS style).
    var coarse = p.precision === "district" || p.precision === "city";
    style.fill = polygon && !coarse;
    style.fillColor = statusOf(p).color;
    style.fillOpacity = 0.2 * statusOf(p).opacity;
    if (coarse) { style.weight = 1.5; }
    style.className = "geomap-feature";
    return style;
  }

  var SHAPES = {
    circle: function () { return svg("circle", {cx: 10, cy: 10, r: 7}); },
    square: function () { return svg("rect", {x: 3.5, y: 3.5, width: 13, height: 13}); },
    triangle: function () { return svg("polygon", {points: "10,2.5 17.5,16.5 2.5,16.5"}); },
    diamond: function () { return svg("polygon", {points: "10,2 18,10 10,18 2,10"}); },
    cross: function () {
      return svg("polygon", {points: "7,2.5 13,2.5 13,7 17.5,7 17.5,13 13,13 13,17.5 " +
                                      "7,17.5 7,13 2.5,13 2.5,7 7,7"});
    },
    star: function () {
      return svg("polygon", {points: "10,1.5 12.4,7.2 18.5,7.6 13.8,11.5 15.3,17.5 10,14.2 " +
                                      "4.7,17.5 6.2,11.5 1.5,7.6 7.6,7.2"});
    },
    pentagon: function () { return svg("polygon", {points: "10,2 18,8 15,17.5 5,17.5 2,8"}); },
    hexagon: function () { return svg("polygon", {points: "10,1.5 17.5,5.8 17.5,14.2 10,18.5 " +
                                                          "2.5,14.2 2.5,5.8"}); }
  };

  function markerSvg(shape, s, size) {
    var node = (SHAPES[shape] || SHAPES.circle)();
    node.setAttribute("fill", s.color);
    node.setAttribute("fill-opacity", String(Math.max(s.opacity, 0.35)));
    node.setAttribute("stroke", "#1a1a1a");
    node.setAttribute("stroke-width", "1.6");
    if (s.dash && s.dash.length) {
      node.setAttribute("stroke-dasharray", dashString(s.dash, 0.8));
      node.setAttribute("stroke-linecap", isDotted(s.dash) ? "round" : "butt");
    }
    return svg("svg", {width: size, height: size, viewBox: "0 0 20 20",
                       "aria-hidden": "true", focusable: "false"}, [node]);
  }

  function pointToLayer(feature, latlng) {
    var p = data().projects[feature.properties.i];
    var holder = document.createElement("div");
    holder.appendChild(markerSvg(themeOf(p).marker, statusOf(p), 20));
    var icon = L.divIcon({className: "geomap-feature geomap-pt", html: holder.innerHTML,
                          iconSize: [20, 20], iconAnchor: [10, 10], popupAnchor: [0, -9],
                          tooltipAnchor: [10, 0]});
    return L.marker(latlng, {icon: icon, title: p.name, alt: p.name, keyboard: true,
                             riseOnHover: true});
  }

  function boundaryStyle() {
    return {color: "#555555", weight: 1.2, opacity: 0.8, fill: false, dashArray: null,
            className: "geomap-district"};
  }

  /* ----------------------------------------------------------------- popups */

  function partLabel(part, year) {
    var label = t("part_" + (part || "other"));
    return year ? label + " (" + year + ")" : label;
  }

  function quoteNode(m) {
    var q = el("blockquote", {className: "gm-quote"});
    var start = m.hl[0], end = m.hl[1];
    if (!(start >= 0 && end > start) && m.phrase) {
      start = m.quote.indexOf(m.phrase);
      end = start >= 0 ? start + m.phrase.length : -1;
    }
    if (start >= 0 && end > start) {
      q.appendChild(document.createTextNode(m.quote.slice(0, start)));
      q.appendChild(el("mark", {text: m.quote.slice(start, end)}));
      q.appendChild(document.createTextNode(m.quote.slice(end)));
    } else {
      q.textContent = m.quote;
    }
    return q;
  }

  function row(label, value) {
    if (value === null || value === undefined || value === "") { return null; }
    return el("tr", {}, [el("th", {scope: "row", text: label}),
                         typeof value === "string" ? el("td", {text: value})
                                                   : el("td", {}, [value])]);
  }

  /* Source text with every http(s) URL in it made a link (nothing else is). */
  function sourceNode(p) {
    if (!p.source) { return ""; }
    var span = el("span", {});
    p.source.split(/(https?:\/\/[^\s;,<>"'\uff0c\uff1b]+)/i).forEach(function (part) {
      if (!part) { return; }
      span.appendChild(isHttpUrl(part)
        ? el("a", {href: part, target: "_blank", rel: "noopener noreferrer", text: part})
        : document.createTextNode(part));
    });
    return span;
  }

  /* Popup order: what the report says first (title, status and year, the
   * sentences), then the provenance folded behind a "来源 / Source" disclosure,
   * so the sentence is visible without scrolling even in a small frame. */
  function projectDetails(p) {
    var s = statusOf(p);
    var kind = data().style.kinds[p.kind] || {zh: p.kind, en: p.kind};
    var box = el("div", {className: "gm-popup", lang: "zh"});
    box.appendChild(el("h3", {className: "gm-popup-title", text: p.name}));
    if (p.name_en) { box.appendChild(el("p", {className: "gm-popup-en", lang: "en",
                                              text: p.name_en})); }
    var chip = el("span", {className: "gm-chip"}, [markerSvg(themeOf(p).marker, s, 14),
                                                   " " + s.zh + " · " + s.en +
                                                   (p.year ? " (" + p.year + ")" : "")]);
    box.appendChild(el("p", {className: "gm-popup-status"}, [chip]));
    if (!p.located) { box.appendChild(el("p", {className: "gm-badge", text: t("notOnMapLong")})); }
    box.appendChild(mentionsNode(p));
    // the project's timeline: last year's facts and this year's targets, never folded, after
    // the sentences so these stay visible first in a small frame
    if (p.status_phrase) { box.appendChild(el("p", {className: "gm-popup-timeline",
                                                    text: timelineText(p)})); }
    var promised = promisesText(p);
    if (promised) { box.appendChild(el("p", {className: "gm-popup-promises",
                                             text: t("promises") +
                                               (state.lang === "en" ? ": " : "：") +
                                               promised})); }
    var table = el("table", {className: "gm-table"}, [el("tbody", {}, [
      row(t("kind"), both(kind)),
      row(t("theme"), both(themeOf(p))),
      row(t("status"), (p.status_label_zh || s.zh) + " / " + (p.status_label_en || s.en)),
      row(t("year"), p.year === null ? "" : String(p.year)),
      row(t("districts"), districtNames(p.districts, state.lang === "en" ? ", " : "、")),
      row(t("precision"), precisionText(p)),
      row(t("source"), sourceNode(p)),
      row(t("length"), p.length_km ? p.length_km + " km" : ""),
      row(t("area"), p.area_km2 ? p.area_km2 + " km²" : "")
    ].filter(Boolean))]);
    box.appendChild(el("details", {className: "gm-prov"},
                       [el("summary", {text: t("provenance")}), table]));
    return box;
  }

  /* "2023：加快推进 → 2024 目标：建成通车" (geo.claims.timeline_text), in English
     "2023: 加快推进 → 2024 target: 建成通车": the phrases stay the report's words. */
  function timelineText(p) {
    if (state.lang !== "en" || !(p.timeline || []).length) { return p.status_phrase; }
    return p.timeline.map(function (item) {
      var label = [item[0] === null ? "" : String(item[0]), item[1] ? t("target") : ""]
        .filter(Boolean).join(" ");
      return (label ? label + ": " : "") + item[2];
    }).join(" → ");
  }

  /* "示意 (schematic) · 8/20 个站点坐标有出处…": a line drawn through stations says how
     many of its vertices have a cited coordinate (all, for a surveyed line). */
  function precisionText(p) {
    if (!p.precision) { return ""; }
    var text = t("precision_" + p.precision) + " (" + p.precision + ")";
    var cited = /^(\d+)\/(\d+)$/.exec(p.cited_vertices || "");
    if (cited && cited[1] !== cited[2]) {
      text += " · " + cited[0] + " " + t("cited_vertices");
    }
    return text;
  }

  /* Promises (geo.tracker): "2023 建成 → 延后兑现 (2024)". */
  var OUTCOMES = ["kept", "late", "in_progress", "dropped", "unverifiable"];

  function promisesText(p) {
    return (p.promises || []).map(function (x) {
      return x.year + " " + t("promise_" + x.promise) + " → " + t("outcome_" + x.outcome) +
        (x.evidence_year && x.outcome !== "dropped" ? " (" + x.evidence_year + ")" : "");
    }).join("；");
  }

  function renderScorecard() {
    var box = document.getElementById("gm-scorecard");
    if (!box) { return; }
    box.textContent = "";
    var rows = data().scorecard || [];
    if (!rows.length) { box.appendChild(el("p", {text: t("noPromises")})); return; }
    var head = el("tr", {}, [el("th", {text: t("area")}), el("th", {text: t("promises")})]
      .concat(OUTCOMES.map(function (o) { return el("th", {text: t("outcome_" + o)}); })));
    var body = rows.map(function (r) {
      var area = r.area === "全市" ? t("cityRow") : r.area === "未定位" ? t("unlocatedRow")
                                                                       : r.area;
      return el("tr", {"data-area": r.area}, [el("th", {text: area}),
                                              el("td", {text: String(r.promises)})]
        .concat(OUTCOMES.map(function (o) {
          return el("td", {"data-outcome": o, text: String(r[o] || 0)}); })));
    });
    box.appendChild(el("table", {className: "gm-table gm-scorecard"},
                       [el("thead", {}, [head]), el("tbody", {}, body)]));
  }

  /* Size a popup from the map it opens in: never wider than the frame minus the
   * zoom-control column and margins, never taller than the map. */
  // Zoom buttons sit at the top left and the layer switcher at the top right
  // (each ≈ 44 px plus a 10 px margin): a popup keeps clear of both.
  var POPUP_SIDE = 54, POPUP_TOP = 56, POPUP_MARGIN = 8, POPUP_CHROME = 42, POPUP_TIP = 30;

  function popupOptions() {
    var size = ctx ? ctx.map.getSize() : {x: 400, y: 300};
    var width = Math.max(160, Math.min(320, size.x - POPUP_SIDE - POPUP_MARGIN - POPUP_CHROME));
    return {maxWidth: width, minWidth: Math.min(220, width),
            maxHeight: Math.max(120, size.y - POPUP_TOP - POPUP_MARGIN - POPUP_TIP),
            autoPanPaddingTopLeft: [POPUP_SIDE, POPUP_TOP],
            autoPanPaddingBottomRight: [POPUP_MARGIN, POPUP_MARGIN],
            className: "gm-leaflet-popup"};
  }

  /* Popups are bound while the layers are built, before the map has a size:
   * give every popup its options again once it has, and whenever it resizes. */
  function refitPopups() {
    var o = popupOptions();
    var apply = function (layer) { if (layer.getPopup()) { L.setOptions(layer.getPopup(), o); } };
    Object.keys(featureLayers).forEach(function (k) { featureLayers[k].forEach(apply); });
    if (choro) { choro.eachLayer(apply); }
  }

  /* The sentences, each followed (not preceded) by where in the report it is. */
  function mentionsNode(p) {
    var list = el("ol", {className: "gm-mentions",
                         "aria-label": t("mentions") + " (" + p.mentions.length + ")"});
    p.mentions.forEach(function (m) {
      var where = partLabel(m.part, m.year) +
        (m.section_title ? " · " + m.section_title : "");
      list.appendChild(el("li", {}, [quoteNode(m), el("div", {className: "gm-where",
                                                               text: where})]));
    });
    return list;
  }

  function tooltipNode(p) {
    var s = statusOf(p);
    return el("span", {className: "gm-tooltip"}, [
      el("strong", {text: p.name}),
      p.name_en ? el("span", {className: "gm-tooltip-en", lang: "en", text: p.name_en}) : null,
      el("span", {text: s.zh + " · " + s.en + (p.year ? " (" + p.year + ")" : "")})]);
  }

  function onFeature(feature, layer) {
    var p = data().projects[feature.properties.i];
    (featureLayers[p.id] = featureLayers[p.id] || []).push(layer);
    layer.bindPopup(function () { return projectDetails(p); }, popupOptions());
    layer.bindTooltip(function () { return tooltipNode(p); }, {sticky: !layer.getLatLng,
                                                                direction: "top"});
  }

  /* ------------------------------------------------------ district summary */

  function summaryRows() { return data().summary.rows; }

  /* Class breaks and colours come from the build (geo/choropleth.py): the same
   * classification as the QGIS style, computed over the districts only. */
  function classes() { return data().classes[state.metric]; }

  function rampColour(value) {
    if (value === null || value === undefined) { return "#dddddd"; }
    var c = classes(), b = c.breaks;
    for (var i = 0; i < c.colours.length; i++) {
      if (value <= b[i + 1]) { return c.colours[i]; }  // upper bounds inclusive, as in QGIS
    }
    return c.colours[c.colours.length - 1];
  }

  function choroStyle(feature) {
    var r = summaryRows()[feature.properties.d];
    return {color: "#333333", weight: 1, opacity: 0.9, fillOpacity: 0.65,
            fillColor: rampColour(r[state.metric]), className: "geomap-choro"};
  }

  function columnLabel(key) {
    var m = /^n_(.+)$/.exec(key);
    if ("col_" + key in I18N.zh) { return t("col_" + key); }
    if (m && statusBy[m[1]]) { return t("col_n") + bi(statusBy[m[1]]); }
    if (m && themeBy[m[1]]) { return t("col_n") + bi(themeBy[m[1]]); }
    m = /^(rail|road)_km(?:_(.+))?$/.exec(key);
    if (m) {
      var base = t("col_" + m[1] + "_km");
      return m[2] ? base + " · " + (statusBy[m[2]] ? bi(statusBy[m[2]]) : m[2]) : base;
    }
    return key;
  }

  /* Zero counts and empty cells say nothing: a district popup lists only the
   * rows with a value (the identifying columns and the totals always). */
  var ALWAYS = {district: 1, n_projects: 1, per_100km2: 1, area_km2: 1};

  function summaryTable(r) {
    var cols = data().summary.columns;
    return el("table", {className: "gm-table gm-summary-table"}, [el("tbody", {},
      cols.map(function (c, i) {
        var v = r.cells[i];
        if (!ALWAYS[c] && (v === "" || Number(v) === 0)) { return null; }
        return el("tr", {"data-col": c}, [el("th", {scope: "row", text: columnLabel(c)}),
                                          el("td", {text: v})]);
      }).filter(Boolean))]);
  }

  function onDistrict(feature, layer) { layer.feature = feature; }

  /* The district summary layer is created empty and filled the first time it is
   * switched on (or asked for): most readers never open it, so the start-up does
   * not pay for a second set of district polygons. */
  var choroFilled = false;

  function fillChoropleth() {
    if (choro && !choroFilled) {
      choroFilled = true;
      choro.addData(data().geometry.districts);
    }
    return choro;
  }

  function buildChoropleth() {
    if (!ctx.boundaries) { return; }
    choro = L.geoJSON(null, {
      pane: "geomap-districts", style: choroStyle,
      onEachFeature: function (feature, layer) {
        var r = summaryRows()[feature.properties.d];
        layer.bindPopup(function () {
          return el("div", {className: "gm-popup gm-district-popup"},
                    [el("h3", {className: "gm-popup-title", text: districtName(r.name)}),
                     summaryTable(r)]);
        }, popupOptions());
        layer.bindTooltip(function () {
          var v = r[state.metric];
          return districtName(r.name) + ": " + (v === null ? t("noData") : v);
        }, {sticky: true});
      }
    });
    ctx.control.addOverlay(choro, t("districtLayer") + " / " + I18N.en.districtLayer);
    choro.on("add", fillChoropleth);
    choro.on("add remove", function () { renderLegend(); });
  }

  /* ----------------------------------------------------------------- legend */

  function legendLine(s) {
    var w = 3;
    var line = svg("line", {x1: 2, y1: 8, x2: 58, y2: 8, stroke: s.color, "stroke-width": w,
                            "stroke-opacity": s.opacity,
                            "stroke-linecap": isDotted(s.dash) ? "round" : "butt"});
    if (s.dash && s.dash.length) { line.setAttribute("stroke-dasharray", dashString(s.dash, w)); }
    return svg("svg", {width: 60, height: 16, viewBox: "0 0 60 16", "aria-hidden": "true",
                       focusable: "false"}, [line]);
  }

  function legendItem(sample, zh, en, code) {
    return el("li", {"data-code": code || null}, [sample, el("span", {lang: "zh", text: zh}),
                                                  el("span", {lang: "en", className: "gm-en",
                                                              text: en})]);
  }

  function legendContent() {
    var body = el("div", {id: "gm-legend-body", className: "gm-legend-body"});
    body.appendChild(el("h3", {text: t("legendStatus")}));
    body.appendChild(el("ul", {className: "gm-legend-list gm-legend-status"},
      data().style.statuses.map(function (s) { return legendItem(legendLine(s), s.zh, s.en,
                                                                 s.code); })));
    var neutral = {color: "#ffffff", opacity: 1, dash: []};
    var themes = el("details", {className: "gm-legend-themes",
                                open: !(isEmbed() || viewport().h < 900)},
      [el("summary", {text: t("legendTheme")}),
       el("ul", {className: "gm-legend-list gm-legend-theme"},
          data().style.themes.map(function (th) {
            return legendItem(markerSvg(th.marker, neutral, 14), th.zh, th.en, th.id);
          }))]);
    body.appendChild(themes);
    if (choro && ctx.map.hasLayer(choro)) { body.appendChild(choroLegend()); }
    return body;
  }

  function choroLegend() {
    var box = el("div", {className: "gm-choro-legend"});
    box.appendChild(el("h3", {text: t("legendChoro")}));
    var select = el("select", {className: "gm-input", "aria-label": t("metric"),
                               id: "gm-metric"});
    Object.keys(data().classes).sort().forEach(function (m) {
      select.appendChild(el("option", {value: m, text: t("metric_" + m),
                                       selected: m === state.metric}));
    });
    select.addEventListener("change", function () {
      state.metric = select.value;
      choro.setStyle(choroStyle);
      renderLegend();
      var again = document.getElementById("gm-metric");
      if (again) { again.focus(); }
    });
    box.appendChild(select);
    var c = classes();
    box.appendChild(el("p", {className: "gm-unit", text: t("unit_" + state.metric)}));
    box.appendChild(el("ul", {className: "gm-legend-list gm-ramp"}, c.colours.map(function (col, i) {
      var lo = c.breaks[i], hi = c.breaks[i + 1];
      var label = lo === hi ? fmtNum(hi) : (i ? "> " : "") + fmtNum(lo) + "–" + fmtNum(hi);
      return el("li", {"data-colour": col}, [svg("svg", {width: 24, height: 14, "aria-hidden": "true"},
                                [svg("rect", {width: 24, height: 14, fill: col,
                                              stroke: "#333"})]), label]);
    })));
    return box;
  }

  function fmtNum(v) {
    var b = classes().breaks, span = b[b.length - 1] - b[0];
    var digits = span >= 10 ? 0 : span >= 1 ? 1 : 2;
    return v.toFixed(digits);
  }

  function renderLegend() {
    if (!legendBox) { return; }
    var old = document.getElementById("gm-legend-body");
    var open = legendBox.getAttribute("data-open") === "1";
    var fresh = legendContent();
    fresh.hidden = !open;
    if (old) { legendBox.replaceChild(fresh, old); } else { legendBox.appendChild(fresh); }
    var btn = legendBox.querySelector(".gm-legend-toggle");
    btn.textContent = t("legend");
    btn.setAttribute("aria-label", t("legendToggle"));
  }

  function buildLegend() {
    var Legend = L.Control.extend({
      options: {position: "bottomright"},
      onAdd: function () {
        legendBox = el("div", {className: "gm-legend leaflet-bar", role: "region",
                               "aria-label": "Legend 图例"});
        var btn = el("button", {type: "button", className: "gm-legend-toggle",
                                "aria-controls": "gm-legend-body"});
        btn.addEventListener("click", function () {
          var open = legendBox.getAttribute("data-open") !== "1";
          legendBox.setAttribute("data-open", open ? "1" : "0");
          btn.setAttribute("aria-expanded", open ? "true" : "false");
          document.getElementById("gm-legend-body").hidden = !open;
        });
        legendBox.appendChild(btn);
        var open = !(isEmbed() || viewport().w < 700);
        legendBox.setAttribute("data-open", open ? "1" : "0");
        btn.setAttribute("aria-expanded", open ? "true" : "false");
        L.DomEvent.disableClickPropagation(legendBox);
        L.DomEvent.disableScrollPropagation(legendBox);
        return legendBox;
      }
    });
    new Legend().addTo(ctx.map);  // its content: renderLegend (called by setLang)
    ctx.map.on("popupopen", function () {
      if (ctx.map.getSize().x < 700 && legendBox.getAttribute("data-open") === "1") {
        legendBox.querySelector(".gm-legend-toggle").click();
      }
    });
  }

  /* ------------------------------------------------------ list and filters */

  function matches(p) {
    var q = state.q.trim().toLowerCase();
    if (q && (p.name + " " + p.name_en + " " + p.districts.join(" ") + " " +
              p.districts.map(function (d) { return (data().district_en || {})[d] || ""; })
                .join(" ")).toLowerCase()
        .indexOf(q) < 0) { return false; }
    if (state.theme && p.theme !== state.theme) { return false; }
    if (state.status && p.status !== state.status) { return false; }
    if (state.part && p.part !== state.part) { return false; }
    if (state.district && p.districts.indexOf(state.district) < 0) { return false; }
    if (state.outcome && !(p.promises || []).some(function (x) {
      return x.outcome === state.outcome; })) { return false; }
    return true;
  }

  function groupOf(p) { return ctx.groups[p.status === "planning" ? "planning" : p.theme]; }

  function applyFilterToMap() {
    data().projects.forEach(function (p) {
      var group = groupOf(p), keep = matches(p);
      (featureLayers[p.id] || []).forEach(function (layer) {
        if (!group) { return; }
        if (keep && !group.hasLayer(layer)) { group.addLayer(layer); }
        if (!keep && group.hasLayer(layer)) { layer.closePopup(); group.removeLayer(layer); }
      });
    });
  }

  function listRow(p) {
    var s = statusOf(p), th = themeOf(p);
    var meta = bi(s) + " · " + bi(th) + (p.districts.length ? " · " + districtNames(p.districts, state.lang === "en" ? ", " : "、")
                                                              : "");
    var btn = el("button", {type: "button", className: "gm-item", "data-pid": p.id,
                            "aria-expanded": p.located ? null : "false"},
                 [markerSvg(th.marker, s, 16),
                  el("span", {className: "gm-item-text"}, [
                    el("span", {className: "gm-item-name", text: p.name}),
                    el("span", {className: "gm-item-meta", text: meta}),
                    p.status_phrase ? el("span", {className: "gm-item-meta gm-item-timeline",
                                                  text: timelineText(p)}) : null]),
                  p.located ? null : el("span", {className: "gm-badge", text: t("notOnMap")})]);
    var li = el("li", {className: "gm-row" + (p.located ? "" : " gm-unlocated")}, [btn]);
    btn.addEventListener("click", function () {
      lastRow = btn;
      if (p.located) { openProject(p.id); } else { toggleDetails(li, btn, p); }
    });
    return li;
  }

  function toggleDetails(li, btn, p) {
    var existing = li.querySelector(".gm-detail");
    if (existing) {
      li.removeChild(existing);
      btn.setAttribute("aria-expanded", "false");
      return;
    }
    li.appendChild(el("div", {className: "gm-detail"}, [projectDetails(p)]));
    btn.setAttribute("aria-expanded", "true");
  }

  /* The rows are built once per language; filtering only hides and shows them,
   * so typing in the search box does not rebuild 100 rows per keystroke. */
  var rowCache = {lang: null, rows: [], empty: null};

  function buildRows() {
    newRows();
    appendRows(0, data().projects.length);
  }

  /* A new, empty list in the current language; rows are added by appendRows. */
  function newRows() {
    var list = document.getElementById("gm-list");
    list.textContent = "";
    rowCache = {lang: state.lang, rows: [], empty: el("li", {className: "gm-empty",
                                                            text: t("noMatch")})};
    list.appendChild(rowCache.empty);
  }

  /* Rows from..to-1 of the project list, inserted at once (one DOM insertion),
   * already filtered: rows built after a search has been typed obey it. */
  function appendRows(from, to) {
    var frag = document.createDocumentFragment();
    data().projects.slice(from, to).forEach(function (p) {
      var li = listRow(p), keep = matches(p);
      li.hidden = !keep;
      rowCache.rows.push({p: p, li: li, shown: keep});
      frag.appendChild(li);
    });
    document.getElementById("gm-list").insertBefore(frag, rowCache.empty);
  }

  function renderList() {
    if (rowCache.lang !== state.lang) { buildRows(); }
    rowCache.rows.forEach(function (r) {
      var keep = matches(r.p);
      if (keep !== r.shown) { r.li.hidden = !keep; r.shown = keep; }
    });
    // counted over all projects: rows still being built (start-up) count too
    var shown = 0, unlocated = 0;
    data().projects.forEach(function (p) {
      if (matches(p)) { shown += 1; if (!p.located) { unlocated += 1; } }
    });
    rowCache.empty.hidden = shown > 0;
    document.getElementById("gm-count").textContent =
      fmt("count", {shown: shown, total: data().projects.length, unlocated: unlocated});
  }

  function refresh() { renderList(); applyFilterToMap(); if (ctx) { declutter(); } }

  function fillSelect(id, key, options) {
    var select = document.getElementById(id);
    select.textContent = "";
    select.appendChild(el("option", {value: "", text: t("all")}));
    options.forEach(function (o) {
      select.appendChild(el("option", {value: o.value, text: o.label,
                                       selected: state[key] === o.value}));
    });
    if (!select.dataset.bound) {
      select.dataset.bound = "1";
      select.addEventListener("change", function () { state[key] = select.value; refresh(); });
    }
  }

  function uniq(values) {
    return values.filter(function (v, i) { return v && values.indexOf(v) === i; });
  }

  function renderFilters() {
    var projects = data().projects;
    var used = function (field) { return uniq(projects.map(function (p) { return p[field]; })); };
    var themes = used("theme"), statuses = used("status"), parts = used("part");
    fillSelect("gm-f-theme", "theme", data().style.themes.filter(function (x) {
      return themes.indexOf(x.id) >= 0; }).map(function (x) {
      return {value: x.id, label: bi(x)}; }));
    fillSelect("gm-f-status", "status", data().style.statuses.filter(function (x) {
      return statuses.indexOf(x.code) >= 0; }).map(function (x) {
      return {value: x.code, label: bi(x)}; }));
    fillSelect("gm-f-part", "part", ["review", "tasks", "other"].filter(function (x) {
      return parts.indexOf(x) >= 0; }).map(function (x) {
      return {value: x, label: t("part_" + x)}; }));
    var districts = uniq([].concat.apply([], projects.map(function (p) { return p.districts; })));
    var order = summaryRows().map(function (r) { return r.name; });
    districts.sort(function (a, b) {
      var ia = order.indexOf(a), ib = order.indexOf(b);
      return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib) || (a < b ? -1 : a > b ? 1 : 0);
    });
    fillSelect("gm-f-district", "district", districts.map(function (d) {
      return {value: d, label: districtName(d)}; }));
    var outcomes = uniq([].concat.apply([], projects.map(function (p) {
      return (p.promises || []).map(function (x) { return x.outcome; }); })));
    fillSelect("gm-f-outcome", "outcome", OUTCOMES.filter(function (o) {
      return outcomes.indexOf(o) >= 0; }).map(function (o) {
      return {value: o, label: t("outcome_" + o)}; }));
  }

  function isMobile() { return window.matchMedia("(max-width: 700px)").matches; }

  function setPanel(open) {
    document.body.classList.toggle("gm-panel-closed", !open);
    document.getElementById("gm-panel-toggle").setAttribute("aria-expanded",
                                                           open ? "true" : "false");
    if (ctx) { ctx.map.invalidateSize({pan: false}); }
  }

  function openProject(pid) {
    var p = data().projects.filter(function (x) { return x.id === pid; })[0];
    var layers = p ? featureLayers[p.id] || [] : [];
    if (!layers.length) { return false; }
    var group = groupOf(p), layer = layers[0];
    if (group && !ctx.map.hasLayer(group)) { ctx.map.addLayer(group); }
    if (group && !group.hasLayer(layer)) { group.addLayer(layer); }
    if (isMobile() || isEmbed()) { setPanel(false); }
    var opened = false;
    var open = function () { if (!opened) { opened = true; layer.openPopup(); } };
    ctx.map.once("moveend", open);
    var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (layer.getBounds) {
      ctx.map.flyToBounds(layer.getBounds(), {maxZoom: 14, padding: [40, 40], duration: 0.6,
                                              animate: !reduce});
    } else {
      ctx.map.flyTo(layer.getLatLng(), Math.max(ctx.map.getZoom(), 13),
                    {duration: 0.6, animate: !reduce});
    }
    window.setTimeout(open, 900);
    return true;
  }

  /* ------------------------------------------------ summary, downloads, i18n */

  function renderSummary() {
    var box = document.getElementById("gm-summary");
    box.textContent = "";
    summaryRows().forEach(function (r) {
      if (r.role === "district") { return; }
      var label = r.role === "city" ? t("cityRow") : t("unlocatedRow");
      box.appendChild(el("details", {className: "gm-summary-row"}, [
        el("summary", {text: label + ": " + (r.n_projects === null ? "–" : r.n_projects) +
                             " " + t("col_n_projects")}),
        summaryTable(r)]));
    });
  }

  function renderDownloads() {
    var list = document.getElementById("gm-downloads");
    list.textContent = "";
    data().downloads.forEach(function (d) {
      var ok = d.url && (isHttpUrl(d.url) || isSafeRelative(d.url));
      list.appendChild(el("li", {}, [ok ? el("a", {href: d.url, text: d.label,
                                                   download: isHttpUrl(d.url) ? null : true})
                                        : el("span", {text: d.label + " (" + d.raw + ")"})]));
    });
    if (!data().downloads.length) { list.appendChild(el("li", {text: t("noDownloads")})); }
  }

  function translateStatic() {
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (n) {
      n.textContent = t(n.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-aria]"), function (n) {
      n.setAttribute("aria-label", t(n.getAttribute("data-i18n-aria")));
    });
    var q = document.getElementById("gm-q");
    q.setAttribute("placeholder", t("searchPlaceholder"));
    var lang = document.getElementById("gm-lang");
    lang.textContent = t("otherLang");
    lang.setAttribute("lang", state.lang === "en" ? "zh" : "en");
    lang.setAttribute("aria-pressed", state.lang === "en" ? "true" : "false");
    var m = data().meta;
    // English mode: the city's English name from the data (district_names_en.json,
    // the city under its own key), else the Chinese title stays
    var cityEn = state.lang === "en" ? (data().district_en || {})[m.city] : "";
    document.getElementById("gm-title").textContent = cityEn
      ? t("title").replace("{city}", cityEn).replace("{year}", m.report_year || "").trim()
      : m.title;
    document.getElementById("gm-subtitle").textContent =
      [cityEn || m.city, m.report_year ? String(m.report_year) : ""].filter(Boolean)
        .join(" · ");
  }

  function setLang(lang) {
    state.lang = lang === "en" ? "en" : "zh";
    translateStatic();
    renderFilters();
    renderList();
    renderSummary();
    renderScorecard();
    renderDownloads();
    renderLegend();
    renderLayerControl();
    if (ctx) { ctx.map.closePopup(); }
  }

  // Overlay names in the layer control follow the language: bilingual by default
  // (as written by the page), English only in English.
  var controlNames = null;

  function renderLayerControl() {
    if (!ctx || !ctx.control || !ctx.groups || !ctx.control._layers) { return; }
    if (controlNames === null) {
      controlNames = {};
      ctx.control._layers.forEach(function (entry) {
        controlNames[L.stamp(entry.layer)] = entry.name;
      });
    }
    var english = {};
    data().style.themes.forEach(function (th) { english[th.id] = th.en; });
    data().style.statuses.forEach(function (s) {
      if (s.code === "planning") { english.planning = s.en + " (all themes)"; }
    });
    var keyOf = {};
    Object.keys(ctx.groups).forEach(function (key) { keyOf[L.stamp(ctx.groups[key])] = key; });
    ctx.control._layers.forEach(function (entry) {
      var id = L.stamp(entry.layer), key = keyOf[id];
      entry.name = (state.lang === "en" && key && english[key]) ? english[key] : controlNames[id];
    });
    ctx.control._update();
  }

  function bindChrome() {
    var q = document.getElementById("gm-q");
    q.addEventListener("input", function () { state.q = q.value; refresh(); });
    document.getElementById("gm-reset").addEventListener("click", function () {
      state.q = state.theme = state.status = state.part = state.district = state.outcome = "";
      q.value = "";
      renderFilters();
      refresh();
    });
    document.getElementById("gm-lang").addEventListener("click", function () {
      setLang(state.lang === "en" ? "zh" : "en");
    });
    document.getElementById("gm-panel-toggle").addEventListener("click", function () {
      setPanel(document.body.classList.contains("gm-panel-closed"));
    });
    var full = document.getElementById("gm-full");
    if (isEmbed() && isSafeRelative(data().meta.full_page)) {
      full.setAttribute("href", data().meta.full_page);
      full.hidden = false;
    }
  }

  function initialLang() {
    var m = /(?:^|[#&?])lang=(en|zh)\b/.exec(window.location.hash + "&" +
                                           window.location.search);
    return m ? m[1] : "zh";
  }

  /* Below the district-level zooms markers shrink, so points in the city
   * centre overlap less at the start view (the shapes stay recognisable). */
  var SMALL_BELOW_ZOOM = 12, NEAR_PX = 13, SMALL_PX = 12;

  /* Markers whose icons would overlap at this zoom are set out on a small ring
   * around their common centre (display only: the data keep their positions),
   * so each stays visible and clickable.  From SMALL_BELOW_ZOOM on, markers
   * are drawn at full size at their own positions. */
  function declutter() {
    var map = ctx.map, small = map.getZoom() < SMALL_BELOW_ZOOM;
    map.getContainer().classList.toggle("gm-small-markers", small);
    var points = [];
    Object.keys(featureLayers).forEach(function (pid) {
      featureLayers[pid].forEach(function (layer) {
        if (!layer.getLatLng || !layer._icon) { return; }
        layer._icon.style.transform = layer._icon.style.transform.replace(/ translate\([^)]*\)$/, "");
        if (small) { points.push({layer: layer, at: map.latLngToLayerPoint(layer.getLatLng())}); }
      });
    });
    // single linkage: a marker joins every group it comes near (groups merge)
    var groups = [];
    points.forEach(function (p) {
      var near = groups.filter(function (g) {
        return g.items.some(function (q) { return q.at.distanceTo(p.at) < 2 * NEAR_PX; });
      });
      var merged = {items: [p]};
      near.forEach(function (g) { merged.items = merged.items.concat(g.items); });
      groups = groups.filter(function (g) { return near.indexOf(g) < 0; }).concat([merged]);
    });
    groups.forEach(function (g) {
      var x = 0, y = 0;
      g.items.forEach(function (p) { x += p.at.x; y += p.at.y; });
      g.at = L.point(x / g.items.length, y / g.items.length);
    });
    groups.forEach(function (g) {
      if (g.items.length < 2) { return; }
      var r = Math.max(NEAR_PX, g.items.length * (SMALL_PX + 2) / (2 * Math.PI));
      g.items.forEach(function (p, i) {
        var a = 2 * Math.PI * i / g.items.length;
        var dx = g.at.x + r * Math.cos(a) - p.at.x, dy = g.at.y + r * Math.sin(a) - p.at.y;
        p.layer._icon.style.transform += " translate(" + dx.toFixed(1) + "px," + dy.toFixed(1) + "px)";
      });
    });
  }

  /* ------------------------------------------------------ embed etiquette */

  /* In an iframe (or the embed variant) the map must not trap the host page:
   * the wheel scrolls the page unless the user has clicked into the map or
   * holds Ctrl/⌘, one finger scrolls the page and two fingers pan and pinch.
   * A short hint says so.  The full page opened on its own behaves normally. */
  function isFramed() {
    try { return window.self !== window.top; } catch (e) { return true; }
  }

  function cooperative() { return isEmbed() || isFramed(); }

  var hintBox = null, hintTimer = null, mapActive = false;

  function showHint(key) {
    if (!hintBox) {
      hintBox = el("div", {className: "gm-hint", role: "status", "aria-live": "polite"});
      ctx.map.getContainer().appendChild(hintBox);
    }
    hintBox.textContent = t(key) + (state.lang === "en" ? "" : " / " + I18N.en[key]);
    hintBox.classList.add("gm-on");
    window.clearTimeout(hintTimer);
    hintTimer = window.setTimeout(function () { hintBox.classList.remove("gm-on"); }, 1500);
  }

  function setActive(on) {
    mapActive = on;
    if (on) { ctx.map.scrollWheelZoom.enable(); } else { ctx.map.scrollWheelZoom.disable(); }
  }

  function bindCooperative() {
    var map = ctx.map, box = map.getContainer();
    setActive(false);
    map.on("click", function () { setActive(true); });
    map.on("focus", function () { setActive(true); });
    box.addEventListener("mouseleave", function () { setActive(false); });
    map.on("blur", function () { setActive(false); });
    box.addEventListener("wheel", function (e) {
      if (mapActive) { return; }
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();  // the browser's own page zoom would fire otherwise
        var at = map.mouseEventToLatLng(e);
        map.setZoomAround(at, map.getZoom() + (e.deltaY < 0 ? 1 : -1));
        return;
      }
      showHint("hintWheel");  // not prevented: the host page scrolls
    }, {passive: false});
    // One finger belongs to the page: the container allows native pans (CSS
    // touch-action on .gm-coop), and Leaflet's drag is switched off for that
    // gesture before Leaflet sees it (capture phase).  Two fingers pan and pinch.
    box.addEventListener("touchstart", function (e) {
      if (e.touches.length === 1) { map.dragging.disable(); return; }
      map.dragging.enable();
      if (hintBox) { hintBox.classList.remove("gm-on"); }
    }, {capture: true, passive: true});
    box.addEventListener("touchmove", function (e) {
      if (e.touches.length === 1) { showHint("hintTouch"); }
    }, {passive: true});
    box.addEventListener("touchend", function (e) {
      if (!e.touches.length) { map.dragging.enable(); }  // mouse drags still pan
    }, {passive: true});
    document.body.classList.add("gm-coop");
  }

  /* Esc closes the popup and puts the focus back on the list row that opened it. */
  var lastRow = null;

  function bindKeys() {
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") { return; }
      ctx.map.closePopup();
      if (lastRow && document.body.contains(lastRow)) {
        if (isMobile() || isEmbed()) { setPanel(true); }
        lastRow.focus();
      }
    });
  }

  /* Users who ask for reduced motion get no pan animation (popups pan at once). */
  function respectReducedMotion() {
    if (!window.matchMedia("(prefers-reduced-motion: reduce)").matches) { return; }
    var panBy = ctx.map.panBy;
    ctx.map.panBy = function (offset, options) {
      return panBy.call(this, offset, L.extend({}, options, {animate: false}));
    };
  }

  /* Window size, read once (and again after a resize): reading it forces a layout. */
  var viewportSize = null;

  function viewport() {
    if (!viewportSize) { viewportSize = {w: window.innerWidth, h: window.innerHeight}; }
    return viewportSize;
  }

  /* Run the steps in tasks of at most about STEP_BUDGET_MS (a step is one layer
   * or 25 rows), yielding to the event loop (setTimeout 0) between tasks, so the
   * page stays responsive while it starts without paying a yield per step. */
  var STEP_BUDGET_MS = 40;

  function runSteps(steps, done) {
    var i = 0;
    (function next() {
      var t0 = performance.now();
      while (i < steps.length && (performance.now() - t0) < STEP_BUDGET_MS) { steps[i++](); }
      if (i >= steps.length) { done(); } else { window.setTimeout(next, 0); }
    })();
  }

  /* Call fn once, in a task after the page's first frame (or after 200 ms when no
   * frame comes, e.g. in a hidden page). */
  function afterPaint(fn) {
    var called = false;
    function go() { if (!called) { called = true; fn(); } }
    if (window.requestAnimationFrame) {
      window.requestAnimationFrame(function () { window.setTimeout(go, 0); });
    }
    window.setTimeout(go, 200);
  }

  var ROWS_PER_STEP = 25, FIRST_ROWS = 15;  // a 844 px screen shows about 12 rows

  /* The layers' features come from the data document, one layer per step. */
  function layerSteps() {
    var geometry = data().geometry, steps = [];
    if (ctx.boundaries) {
      steps.push(function () { ctx.boundaries.addData(geometry.districts); });
    }
    Object.keys(ctx.groups).forEach(function (key) {
      steps.push(function () { ctx.groups[key].addData(geometry.layers[key] || []); });
    });
    return steps;
  }

  /* The rest of the project list, ROWS_PER_STEP rows per step, after the first
   * screenful (a language switch meanwhile rebuilds the whole list: then stop). */
  function rowSteps(from) {
    var n = data().projects.length, lang = state.lang, steps = [];
    for (var c = from; c < n; c += ROWS_PER_STEP) {
      steps.push(function (at) {
        return function () {
          if (rowCache.lang === lang && rowCache.rows.length === at) {
            appendRows(at, Math.min(n, at + ROWS_PER_STEP));
          }
        };
      }(c));
    }
    return steps;
  }

  function start(context) {
    if (window.performance && performance.mark) { performance.mark("geomap-start"); }
    ctx = context;
    data();
    window.addEventListener("resize", function () { viewportSize = null; });
    state.lang = initialLang();
    runSteps(layerSteps().concat([
      function () {
        ctx.map.on("resize", refitPopups);
        ctx.map.on("zoomend", declutter);
        respectReducedMotion();
        if (cooperative()) { bindCooperative(); }
        bindKeys();
        buildChoropleth();
        buildLegend();
      },
      function () {
        bindChrome();
        setPanel(!(isEmbed() || isMobile()));
        refitPopups();
      }
    ], [
      function () { newRows(); appendRows(0, FIRST_ROWS); },  // the first screenful
      function () { setLang(state.lang); },  // (keeps those rows) filters, summary, legend
      function () { applyFilterToMap(); declutter(); }
    ]), function () {
      // For embedding pages and the benchmark: the map, its layers, the legend,
      // the filters and the first screenful of the list are ready.
      window.__geoReadyAt = performance.now();
      window.__geoReady = true;
      window.__geoList = false;
      runSteps(rowSteps(FIRST_ROWS), function () {
        window.__geoListAt = performance.now();  // every row of the list built
        window.__geoList = true;
      });
    });
  }

  function drawnIds() {
    var ids = [];
    data().projects.forEach(function (p) {
      if ((featureLayers[p.id] || []).some(function (l) { return ctx.map.hasLayer(l); })) {
        ids.push(p.id);
      }
    });
    return ids;
  }

  /* Test hook: open a project's popup at once (no flight), as a tap on it would. */
  function showPopup(pid) {
    var layer = (featureLayers[pid] || [])[0];
    if (!layer) { return false; }
    var at = layer.getLatLng ? layer.getLatLng() : layer.getCenter();
    ctx.map.setView(at, Math.max(ctx.map.getZoom(), 11), {animate: false});
    layer.openPopup(at);
    return true;
  }

  window.GEOMAP = {
    showPopup: showPopup,
    featureIds: function () {
      var out = {};
      Object.keys(featureLayers).forEach(function (k) { out[k] = featureLayers[k].length; });
      return out;
    },
    start: start, afterPaint: afterPaint, featureStyle: featureStyle, pointToLayer: pointToLayer,
    onFeature: onFeature, boundaryStyle: boundaryStyle, onDistrict: onDistrict,
    openProject: openProject, setLang: setLang, drawnIds: drawnIds,
    state: function () { return JSON.parse(JSON.stringify(state)); },
    choropleth: fillChoropleth, context: function () { return ctx; }
  };
})();
