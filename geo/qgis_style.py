"""QGIS (QML) and OGC SLD styles for the GeoPackage layers.

Every colour, dash pattern and opacity comes from ``geo/resources/statuses.json``
and every marker shape from ``themes.json``, the same files the web map reads,
so both products draw a status the same way:

* completed solid, under construction dashed, started dash-dot, planning dotted
  and lighter (the status ``opacity``), other grey;
* a category for **every** status, present in the data or not, so the legend is
  complete and stable from one build to the next;
* point markers take the theme's marker shape, filled with the status colour,
  with the status's white glyph (``qgis_shape``) in the centre;
* labels on ``name`` only at scales larger than 1:150 000;
* districts are drawn as outlines; the district summary as a graduated fill.

The QML is written for QGIS 3.22 (the oldest QGIS we support) and read by every
later version.  A :class:`Style` holds the elements that make up a layer's
style; :func:`to_qml` wraps them in a QML document and
:mod:`geo.qgis_project` embeds the same elements in the project's
``<maplayer>``, so the stored default style and the project never disagree.
All text goes through :mod:`xml.etree.ElementTree`, which escapes it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import choropleth, resources

#: QGIS version written into QML/QGS headers (oldest supported reader).
QGIS_VERSION = "3.22.0-Białowieża"

#: Labels are drawn only when the map scale denominator is at most this ...
LABEL_MAX_SCALE = 150_000
#: ... except on lines at least this long (km; the major rail and road projects), which
#: are labelled at every scale, the full city extent included, with a higher placement
#: priority; QGIS's label engine drops any label that would collide with another.
MAJOR_LINE_KM = 20.0

#: Line widths (mm) of project lines and polygon outlines; dash arrays in
#: statuses.json are "pixels at width 1" and are multiplied by these widths.
LINE_WIDTH_MM = 0.9
OUTLINE_WIDTH_MM = 0.6
MARKER_SIZE_MM = 3.4
#: The same widths in SLD pixels (0.28 mm each).
LINE_WIDTH_PX = 3.0
OUTLINE_WIDTH_PX = 2.0
MARKER_SIZE_PX = 12

#: QGIS SimpleMarker shape for each themes.json ``marker`` (filled shapes).
QGIS_MARKERS = {"circle": "circle", "square": "square", "triangle": "triangle",
                "diamond": "diamond", "cross": "cross_fill", "star": "star",
                "pentagon": "pentagon", "hexagon": "hexagon"}

#: Sequential fill colours of the district summary classes (shared with the web map).
SUMMARY_RAMP = choropleth.RAMP
#: Class breaks of the district summary (one function for QGIS and the web map).
class_breaks = choropleth.class_breaks

_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_SLD_NS = {
    "xmlns": "http://www.opengis.net/sld",
    "xmlns:se": "http://www.opengis.net/se",
    "xmlns:ogc": "http://www.opengis.net/ogc",
    "xmlns:xlink": "http://www.w3.org/1999/xlink",
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsi:schemaLocation": "http://www.opengis.net/sld "
                          "http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
    "version": "1.1.0",
}


@dataclass
class Style:
    """The parts of one layer's QGIS style (children of ``<qgis>``/``<maplayer>``)."""

    elements: list[ET.Element] = field(default_factory=list)
    labels_enabled: bool = False


# --------------------------------------------------------------------------- colours


def rgba(hex_colour: str, alpha: float = 1.0) -> str:
    """``#RRGGBB`` -> QGIS colour string ``r,g,b,a`` (alpha 0..1 -> 0..255)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _num(value: float) -> str:
    """Format a number compactly and deterministically (no float noise)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def status_label(status: dict) -> str:
    """Legend label of a status: Chinese and English, e.g. ``在建/加快建设 Under construction``."""
    return f"{status['zh']} {status['en']}"


# --------------------------------------------------------------------------- symbols


def _symbol_layer(cls: str, props: dict[str, str],
                  data_defined: dict[str, str] | None = None) -> ET.Element:
    """A ``<layer>`` with properties both as ``<Option>`` map and legacy ``<prop>``.

    ``data_defined`` maps a property name (e.g. ``fillColor``) to an expression.
    """
    layer = ET.Element("layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for key in sorted(props):
        ET.SubElement(options, "Option", {"name": key, "value": props[key], "type": "QString"})
    for key in sorted(props):
        ET.SubElement(layer, "prop", {"k": key, "v": props[key]})
    if data_defined:
        layer.append(_data_defined(data_defined))
    return layer


def _data_defined(expressions: dict[str, str]) -> ET.Element:
    """``<data_defined_properties>`` with one active expression per property."""
    root = ET.Element("data_defined_properties")
    collection = ET.SubElement(root, "Option", {"type": "Map"})
    ET.SubElement(collection, "Option", {"name": "name", "value": "", "type": "QString"})
    props = ET.SubElement(collection, "Option", {"name": "properties", "type": "Map"})
    for key in sorted(expressions):
        prop = ET.SubElement(props, "Option", {"name": key, "type": "Map"})
        ET.SubElement(prop, "Option", {"name": "active", "value": "true", "type": "bool"})
        ET.SubElement(prop, "Option", {"name": "expression", "value": expressions[key],
                                       "type": "QString"})
        ET.SubElement(prop, "Option", {"name": "type", "value": "3", "type": "int"})
    ET.SubElement(collection, "Option", {"name": "type", "value": "collection",
                                         "type": "QString"})
    return root


def _symbol(name: str, kind: str, alpha: float, layers: Iterable[ET.Element]) -> ET.Element:
    sym = ET.Element("symbol", {"name": name, "type": kind, "alpha": _num(alpha),
                                "clip_to_extent": "1", "force_rhr": "0"})
    sym.extend(layers)
    return sym


def _line_layer(colour: str, width: float, dash: Sequence[float], alpha: float = 1.0) -> ET.Element:
    props = {
        "line_color": rgba(colour, alpha), "line_width": _num(width), "line_width_unit": "MM",
        "line_style": "solid", "capstyle": "flat", "joinstyle": "round",
        "use_custom_dash": "1" if dash else "0",
        "customdash": ";".join(_num(d * width) for d in dash) if dash else "5;2",
        "customdash_unit": "MM",
    }
    return _symbol_layer("SimpleLine", props)


#: Precision classes whose polygons are a whole district or city: outline only, no fill,
#: so a project known only to district level does not paint the district.
COARSE_PRECISIONS = ("district", "city")


def _fill_layer(colour: str | None, alpha: float, hollow_if_coarse: bool = False) -> ET.Element:
    fill = rgba(colour or "#ffffff", alpha if colour else 0.0)
    props = {
        "color": fill, "style": "solid" if colour else "no", "outline_style": "no",
        "outline_color": "0,0,0,0", "outline_width": "0", "outline_width_unit": "MM",
    }
    dd = None
    if hollow_if_coarse:
        coarse = ", ".join(f"'{p}'" for p in COARSE_PRECISIONS)
        dd = {"fillColor": f"if(\"precision\" IN ({coarse}), '0,0,0,0', '{fill}')"}
    return _symbol_layer("SimpleFill", props, dd)


def _marker_layer(shape: str, fill: str, outline: str,
                  size: float = MARKER_SIZE_MM) -> ET.Element:
    props = {
        "name": QGIS_MARKERS.get(shape, "circle"), "color": rgba(fill),
        "outline_color": rgba(outline), "outline_style": "solid", "outline_width": "0.4",
        "outline_width_unit": "MM", "size": _num(size), "size_unit": "MM",
        "scale_method": "diameter", "joinstyle": "miter", "angle": "0",
    }
    return _symbol_layer("SimpleMarker", props)


#: Status glyphs drawn as white strokes (the others are filled white).
STROKE_GLYPHS = ("cross", "cross2", "line")
#: Size (mm) of the status glyph in the centre of a point marker.
GLYPH_SIZE_MM = 1.3


def _glyph_layer(shape: str) -> ET.Element:
    """The status glyph (statuses.json ``qgis_shape``) drawn over a point marker's centre."""
    stroke = shape in STROKE_GLYPHS
    props = {
        "name": shape, "color": "255,255,255,0" if stroke else "255,255,255,255",
        "outline_color": "255,255,255,255" if stroke else "26,26,26,255",
        "outline_style": "solid", "outline_width": "0.45" if stroke else "0.15",
        "outline_width_unit": "MM", "size": _num(GLYPH_SIZE_MM), "size_unit": "MM",
        "scale_method": "diameter", "joinstyle": "miter",
        "angle": "90" if shape == "line" else "0",  # QGIS's line marker is vertical
    }
    return _symbol_layer("SimpleMarker", props)


def status_symbol(status: dict, geom: str, theme: dict, name: str) -> ET.Element:
    """The symbol of one status on a ``point``, ``line`` or ``polygon`` layer."""
    alpha = float(status.get("opacity", 1.0))
    dash = [float(d) for d in status.get("dash", [])]
    if geom == "point":
        layers = [_marker_layer(theme.get("marker", "circle"), status["color"],
                                theme.get("color", "#333333"))]
        if status.get("qgis_shape"):
            layers.append(_glyph_layer(status["qgis_shape"]))
        return _symbol(name, "marker", alpha, layers)
    if geom == "line":
        casing = _line_layer("#ffffff", LINE_WIDTH_MM + 0.6, [], alpha=0.7)
        return _symbol(name, "line", alpha,
                       [casing, _line_layer(status["color"], LINE_WIDTH_MM, dash)])
    return _symbol(name, "fill", alpha,
                   [_fill_layer(status["color"], 0.25, hollow_if_coarse=True),
                    _line_layer(status["color"], OUTLINE_WIDTH_MM, dash)])


# --------------------------------------------------------------------------- renderers


def categorized_renderer(field_name: str, geom: str, theme: dict,
                         present: Iterable[str] | None = None) -> ET.Element:
    """A categorized renderer on ``field_name`` with one category per status; only the
    statuses in ``present`` (when given), so the legend lists no empty classes."""
    keep = None if present is None else set(present)
    renderer = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": field_name,
                                          "symbollevels": "0", "enableorderby": "0",
                                          "forceraster": "0", "referencescale": "-1"})
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, status in enumerate(resources.statuses()):
        if keep is not None and status["code"] not in keep:
            continue
        ET.SubElement(categories, "category", {"value": status["code"], "symbol": str(i),
                                               "label": status_label(status), "render": "true"})
        symbols.append(status_symbol(status, geom, theme, str(i)))
    return renderer


def outline_renderer(colour: str = "#555555", width: float = 0.5) -> ET.Element:
    """A single-symbol renderer drawing polygon outlines only (no fill)."""
    renderer = ET.Element("renderer-v2", {"type": "singleSymbol", "symbollevels": "0",
                                          "enableorderby": "0", "forceraster": "0",
                                          "referencescale": "-1"})
    symbols = ET.SubElement(renderer, "symbols")
    symbols.append(_symbol("0", "fill", 1.0, [_fill_layer(None, 0.0),
                                              _line_layer(colour, width, [])]))
    return renderer


#: Unit of the district choropleth's measure, shown in its legend labels and layer title.
DENSITY_UNIT = "个/100 km² projects per 100 km²"


def graduated_renderer(field_name: str, breaks: Sequence[float],
                       unit: str = "") -> ET.Element:
    """A graduated fill renderer on ``field_name`` with classes ``breaks[i]..breaks[i+1]``,
    each labelled with ``unit`` when given."""
    renderer = ET.Element("renderer-v2", {"type": "graduatedSymbol", "attr": field_name,
                                          "graduatedMethod": "GraduatedColor",
                                          "symbollevels": "0", "enableorderby": "0",
                                          "forceraster": "0", "referencescale": "-1"})
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for i, colour in enumerate(choropleth.class_colours(breaks)):
        lo, hi = breaks[i], breaks[i + 1]
        ET.SubElement(ranges, "range", {"lower": _num(lo), "upper": _num(hi), "symbol": str(i),
                                        "label": f"{_num(lo)} – {_num(hi)}"
                                                 + (f" {unit}" if unit else ""),
                                        "render": "true"})
        symbols.append(_symbol(str(i), "fill", 1.0, [_fill_layer(colour, 0.75),
                                                     _line_layer("#777777", 0.3, [])]))
    ET.SubElement(renderer, "mode", {"name": "quantile"})
    return renderer


# --------------------------------------------------------------------------- labels


_PLACEMENT = {"point": "6", "line": "2", "polygon": "1"}


def major_line_rule(max_scale: float = LABEL_MAX_SCALE,
                    major_km: float = MAJOR_LINE_KM) -> tuple[str, str]:
    """(show, priority) expressions of line labels: any line when zoomed in to
    1:``max_scale``, at every scale a line of ``major_km`` km or more, ranked by length."""
    length = 'coalesce("length_km", 0)'
    # coalesce: where a renderer sets no @map_scale, only the major lines are labelled
    show = f"coalesce(@map_scale <= {_num(max_scale)}, false) OR {length} >= {_num(major_km)}"
    priority = f"if({length} >= {_num(major_km)}, 9, 5)"
    return show, priority


def labeling(field_name: str, geom: str, *, max_scale: float | None = LABEL_MAX_SCALE,
             size: float = 8.0, colour: str = "#323232") -> ET.Element:
    """Simple labeling on ``field_name``; shown only at scales up to 1:``max_scale``,
    except that on a ``line`` layer the major lines (:func:`major_line_rule`) are
    labelled at every scale.

    No font family is written, so each QGIS uses its default UI font (which
    renders Chinese on Chinese systems) instead of reporting a missing font.
    """
    root = ET.Element("labeling", {"type": "simple"})
    settings = ET.SubElement(root, "settings", {"calloutType": "simple"})
    text = ET.SubElement(settings, "text-style", {
        "fieldName": field_name, "isExpression": "0", "fontSize": _num(size),
        "fontSizeUnit": "Point", "textColor": rgba(colour), "textOpacity": "1",
        "fontWeight": "50", "fontItalic": "0", "multilineHeight": "1",
    })
    ET.SubElement(text, "text-buffer", {"bufferDraw": "1", "bufferSize": "0.8",
                                        "bufferSizeUnits": "MM",
                                        "bufferColor": "255,255,255,255",
                                        "bufferOpacity": "0.9", "bufferNoFill": "1",
                                        "bufferJoinStyle": "128"})
    ET.SubElement(settings, "text-format", {"wrapChar": "", "autoWrapLength": "12",
                                            "multilineAlign": "3"})
    ET.SubElement(settings, "placement", {"placement": _PLACEMENT[geom], "placementFlags": "10",
                                          "dist": "1", "distUnits": "MM", "priority": "5",
                                          "centroidInside": "1", "repeatDistance": "0"})
    major = geom == "line" and max_scale is not None
    scaled = max_scale is not None and not major
    # QGIS writes the most zoomed-out scale as ``scaleMax`` (see QgsPalLayerSettings).
    ET.SubElement(settings, "rendering", {"scaleVisibility": "1" if scaled else "0",
                                          "scaleMin": "1",
                                          "scaleMax": _num(max_scale or 0),
                                          "obstacle": "1", "drawLabels": "1",
                                          "mergeLines": "1" if geom == "line" else "0",
                                          "displayAll": "0", "upsidedownLabels": "0"})
    if major and max_scale is not None:
        show, priority = major_line_rule(max_scale)
        dd = _data_defined({"Show": show, "Priority": priority})
        dd.tag = "dd_properties"
        settings.append(dd)
    return root


# --------------------------------------------------------------------------- fields


def aliases(fields: Sequence[str], alias_of: dict[str, str]) -> ET.Element:
    """``<aliases>`` for ``fields`` (the layer's attribute order, FID first)."""
    root = ET.Element("aliases")
    for i, name in enumerate(fields):
        ET.SubElement(root, "alias", {"field": name, "index": str(i),
                                      "name": alias_of.get(name, "")})
    return root


def _option(parent: ET.Element, name: str, kind: str, value: str) -> None:
    ET.SubElement(parent, "Option", {"name": name, "type": kind, "value": value})


def relation_widgets(references: dict[str, str]) -> ET.Element:
    """``<fieldConfiguration>`` giving each join field (field -> relation id) a read-only
    relation-reference widget bound to one named relation.

    Without it QGIS desktop picks the widget itself for a field that several project
    relations use and logs "Missing Relation in configuration" when a form opens."""
    root = ET.Element("fieldConfiguration")
    for name, relation in references.items():
        fld = ET.SubElement(root, "field", {"name": name, "configurationFlags": "None"})
        widget = ET.SubElement(fld, "editWidget", {"type": "RelationReference"})
        opts = ET.SubElement(ET.SubElement(widget, "config"), "Option", {"type": "Map"})
        for key, value in (("AllowAddFeatures", "false"), ("AllowNULL", "true"),
                           ("MapIdentification", "false"), ("OrderByValue", "false"),
                           ("ReadOnly", "true"), ("ShowForm", "false"),
                           ("ShowOpenFormButton", "true")):
            _option(opts, key, "bool", value)
        _option(opts, "Relation", "QString", relation)
    return root


def form_elements(display_expression: str, map_tip: str = "") -> list[ET.Element]:
    """Generated attribute form (it lists related child features) and display expression."""
    layout = ET.Element("editorlayout")
    layout.text = "generatedlayout"
    preview = ET.Element("previewExpression")
    preview.text = display_expression
    tip = ET.Element("mapTip")
    tip.text = map_tip
    return [layout, preview, tip]


def _simple(tag: str, text: str) -> ET.Element:
    elem = ET.Element(tag)
    elem.text = text
    return elem


# --------------------------------------------------------------------------- styles


PROJECT_TIP = ("<b>[% \"name\" %]</b><br>[% \"status_label_zh\" %] · [% \"status_label_en\" %]"
               "<br>[% \"kind_label\" %] · [% \"districts\" %]")


def project_style(theme: dict, geom: str, fields: Sequence[str],
                  alias_of: dict[str, str], present: Iterable[str] | None = None) -> Style:
    """Style of a theme layer: categorised by status (the ``present`` ones), labelled
    on name."""
    elements = [categorized_renderer("status", geom, theme, present), labeling("name", geom),
                _simple("blendMode", "0"), _simple("featureBlendMode", "0"),
                _simple("layerOpacity", "1"), aliases(fields, alias_of),
                *form_elements("\"name\"", PROJECT_TIP)]
    return Style(elements, labels_enabled=True)


def districts_style(fields: Sequence[str], alias_of: dict[str, str]) -> Style:
    """District boundaries as grey outlines, labelled with the name at every scale."""
    elements = [outline_renderer(), labeling("name", "polygon", max_scale=None, size=10,
                                             colour="#555555"),
                aliases(fields, alias_of), *form_elements("\"name\"")]
    return Style(elements, labels_enabled=True)


def summary_style(fields: Sequence[str], alias_of: dict[str, str],
                  values: Iterable[float], field_name: str = "per_100km2") -> Style:
    """District summary: graduated fill on projects per 100 km², the unit in each label."""
    elements = [graduated_renderer(field_name, class_breaks(values), unit=DENSITY_UNIT),
                aliases(fields, alias_of), *form_elements("\"district\"")]
    return Style(elements, labels_enabled=False)


#: Look of the station layer by ``basis``: a cited coordinate is a filled dark
#: dot, one placed from knowledge a hollow grey ring (it promises less).
STATION_LOOK = {"cited": ("#1a1a1a", "#ffffff", "引证坐标 cited coordinate"),
                "knowledge": ("#ffffff", "#808080", "知识定位（未核实）placed from knowledge")}
#: Diameter (mm) of a station marker: smaller than a project's.
STATION_SIZE_MM = 1.8
#: Station labels are shown zoomed in to 1:this scale.
STATION_LABEL_SCALE = 50000.0


def _station_renderer() -> ET.Element:
    renderer = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": "basis",
                                          "symbollevels": "0", "enableorderby": "0",
                                          "forceraster": "0", "referencescale": "-1"})
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (basis, (fill, outline, label)) in enumerate(STATION_LOOK.items()):
        ET.SubElement(categories, "category", {"value": basis, "symbol": str(i),
                                               "label": label, "render": "true"})
        marker = _marker_layer("circle", fill, outline, size=STATION_SIZE_MM)
        symbols.append(_symbol(str(i), "marker", 1.0, [marker]))
    return renderer


def stations_style(fields: Sequence[str], alias_of: dict[str, str]) -> Style:
    """Stations the lines are drawn through, by basis; names labelled when zoomed in."""
    elements = [_station_renderer(),
                labeling("name", "point", max_scale=STATION_LABEL_SCALE, size=7.0),
                aliases(fields, alias_of), *form_elements("\"name\"")]
    return Style(elements, labels_enabled=True)


def stations_sld(layer: str) -> str:
    """SLD 1.1 of the station layer: one rule per basis, then a scale-limited label rule."""
    root, fts = _sld_document(layer)
    for basis, (fill, outline, label) in STATION_LOOK.items():
        rule = _se(fts, "Rule")
        _se(rule, "Name", basis)
        _se(_se(rule, "Description"), "Title", label)
        _sld_filter(rule, "basis", basis)
        graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", "circle")
        _svg(_se(mark, "Fill"), "fill", fill)
        _sld_stroke(mark, outline, 1.0, [], 1.0)
        _se(graphic, "Size", "7")
    _sld_label_rule(fts, "name", "point", STATION_LABEL_SCALE)
    return _sld_text(root)


def table_style(fields: Sequence[str], alias_of: dict[str, str],
                display_expression: str, references: dict[str, str] | None = None) -> Style:
    """Style of an attribute table: aliases, the display expression used in forms and,
    for join fields (``references``: field -> relation id), relation-reference widgets."""
    extra = [relation_widgets(references)] if references else []
    return Style([aliases(fields, alias_of), *extra, *form_elements(display_expression)])


def to_qml(style: Style) -> str:
    """Serialise ``style`` as a QML document (UTF-8 text, LF line ends)."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "AllStyleCategories",
                               "labelsEnabled": "1" if style.labels_enabled else "0",
                               "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000",
                               "maxScale": "0", "readOnly": "0"})
    root.extend(style.elements)
    ET.indent(root, space=" ")
    return _DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- SLD


def _se(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, f"se:{tag}", attrs)
    if text is not None:
        elem.text = text
    return elem


def _svg(parent: ET.Element, name: str, value: str) -> None:
    _se(parent, "SvgParameter", value, name=name)


def _sld_stroke(parent: ET.Element, colour: str, width: float, dash: Sequence[float],
                opacity: float) -> None:
    stroke = _se(parent, "Stroke")
    _svg(stroke, "stroke", colour.lower())
    _svg(stroke, "stroke-width", _num(width))
    _svg(stroke, "stroke-opacity", _num(opacity))
    _svg(stroke, "stroke-linejoin", "round")
    _svg(stroke, "stroke-linecap", "butt")
    if dash:
        _svg(stroke, "stroke-dasharray", " ".join(_num(d * width) for d in dash))


def _sld_symbolizer(rule: ET.Element, status: dict, geom: str, theme: dict) -> None:
    colour, opacity = status["color"], float(status.get("opacity", 1.0))
    dash = [float(d) for d in status.get("dash", [])]
    if geom == "point":
        graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", theme.get("marker", "circle"))
        fill = _se(mark, "Fill")
        _svg(fill, "fill", colour.lower())
        _svg(fill, "fill-opacity", _num(opacity))
        _sld_stroke(mark, theme.get("color", "#333333"), 1.0, [], opacity)
        _se(graphic, "Size", _num(MARKER_SIZE_PX))
        if status.get("qgis_shape"):
            _sld_glyph(rule, status["qgis_shape"])
    elif geom == "line":
        _sld_stroke(_se(rule, "LineSymbolizer"), colour, LINE_WIDTH_PX, dash, opacity)
    else:
        sym = _se(rule, "PolygonSymbolizer")
        fill = _se(sym, "Fill")
        _svg(fill, "fill", colour.lower())
        _svg(fill, "fill-opacity", _num(0.25 * opacity))
        _sld_stroke(sym, colour, OUTLINE_WIDTH_PX, dash, opacity)


#: SLD well-known names of the status glyphs (statuses.json ``qgis_shape``): the
#: standard marks, and GeoServer's ``shape://vertline`` for QGIS's vertical line.
SLD_GLYPHS = {"circle": "circle", "square": "square", "triangle": "triangle",
              "cross": "cross", "cross2": "x", "line": "shape://vertline"}
#: Size (px) of the status glyph drawn over a point marker in SLD.
GLYPH_SIZE_PX = 5


def _sld_glyph(rule: ET.Element, shape: str) -> None:
    """A second point symbolizer: the status glyph in white over the marker's centre,
    as in the QML (stroked for line-like glyphs, filled with a dark edge otherwise)."""
    graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
    mark = _se(graphic, "Mark")
    _se(mark, "WellKnownName", SLD_GLYPHS.get(shape, shape))
    stroke = shape in STROKE_GLYPHS
    if not stroke:
        _svg(_se(mark, "Fill"), "fill", "#ffffff")
    _sld_stroke(mark, "#ffffff" if stroke else "#1a1a1a", 1.5 if stroke else 0.5, [], 1.0)
    _se(graphic, "Size", _num(GLYPH_SIZE_PX))


def _sld_filter(rule: ET.Element, field_name: str, value: str) -> None:
    flt = ET.SubElement(rule, "ogc:Filter")
    eq = ET.SubElement(flt, "ogc:PropertyIsEqualTo")
    ET.SubElement(eq, "ogc:PropertyName").text = field_name
    ET.SubElement(eq, "ogc:Literal").text = value


def _sld_label_rule(fts: ET.Element, field_name: str, geom: str,
                    max_scale: float | None, min_km: float | None = None) -> None:
    """A label rule, zoomed in to 1:``max_scale`` or, with ``min_km``, at every scale for
    lines of at least ``min_km`` km (the major lines, as in the QML)."""
    rule = _se(fts, "Rule")
    _se(rule, "Name", "labels" if min_km is None else "labels (major lines)")
    if min_km is not None:
        flt = ET.SubElement(rule, "ogc:Filter")
        cmp_ = ET.SubElement(flt, "ogc:PropertyIsGreaterThanOrEqualTo")
        ET.SubElement(cmp_, "ogc:PropertyName").text = "length_km"
        ET.SubElement(cmp_, "ogc:Literal").text = _num(min_km)
        if max_scale is not None:
            _se(rule, "MinScaleDenominator", _num(max_scale))
    elif max_scale is not None:
        _se(rule, "MaxScaleDenominator", _num(max_scale))
    text = _se(rule, "TextSymbolizer")
    label = _se(text, "Label")
    ET.SubElement(label, "ogc:PropertyName").text = field_name
    font = _se(text, "Font")
    _svg(font, "font-family", "sans-serif")
    _svg(font, "font-size", "11")
    placement = _se(text, "LabelPlacement")
    if geom == "line":
        _se(placement, "LinePlacement")
    else:
        _se(placement, "PointPlacement")
    halo = _se(text, "Halo")
    _se(halo, "Radius", "2")
    _svg(_se(halo, "Fill"), "fill", "#ffffff")
    _svg(_se(text, "Fill"), "fill", "#323232")


def _sld_document(layer: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("StyledLayerDescriptor", _SLD_NS)
    named = ET.SubElement(root, "NamedLayer")
    _se(named, "Name", layer)
    user = ET.SubElement(named, "UserStyle")
    _se(user, "Name", layer)
    return root, _se(user, "FeatureTypeStyle")


def _sld_text(root: ET.Element) -> str:
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


#: Precisions whose polygon is a whole county or the city: drawn as outlines only.
COARSE_PRECISIONS = ("district", "city")


def project_sld(layer: str, theme: dict, geom: str) -> str:
    """SLD 1.1 of a theme layer: one rule per status, then a scale-limited label rule.

    Polygon layers get a second rule per status for county- or city-precision
    geometries, drawn as outlines only (as in the QML and the web map)."""
    root, fts = _sld_document(layer)
    for status in resources.statuses():
        rule = _se(fts, "Rule")
        _se(rule, "Name", status["code"])
        _se(_se(rule, "Description"), "Title", status_label(status))
        if geom == "polygon":
            _sld_status_precision_filter(rule, status["code"], coarse=False)
        else:
            _sld_filter(rule, "status", status["code"])
        _sld_symbolizer(rule, status, geom, theme)
        if geom == "polygon":
            coarse = _se(fts, "Rule")
            _se(coarse, "Name", f"{status['code']} (county or city only)")
            _se(_se(coarse, "Description"), "Title",
                f"{status_label(status)} · 仅知区县 county only")
            _sld_status_precision_filter(coarse, status["code"], coarse=True)
            _sld_stroke(_se(coarse, "PolygonSymbolizer"), status["color"], 1.5,
                        [float(d) for d in status.get("dash", [])],
                        float(status.get("opacity", 1.0)))
    _sld_label_rule(fts, "name", geom, LABEL_MAX_SCALE)
    if geom == "line":
        _sld_label_rule(fts, "name", geom, LABEL_MAX_SCALE, min_km=MAJOR_LINE_KM)
    return _sld_text(root)


def _sld_status_precision_filter(rule: ET.Element, status: str, coarse: bool) -> None:
    """status = ``status`` AND precision is (not) one of COARSE_PRECISIONS."""
    flt = ET.SubElement(rule, "ogc:Filter")
    both = ET.SubElement(flt, "ogc:And")
    eq = ET.SubElement(both, "ogc:PropertyIsEqualTo")
    ET.SubElement(eq, "ogc:PropertyName").text = "status"
    ET.SubElement(eq, "ogc:Literal").text = status
    parent = ET.SubElement(both, "ogc:Or") if coarse else ET.SubElement(
        ET.SubElement(both, "ogc:Not"), "ogc:Or")
    for value in COARSE_PRECISIONS:
        cmp_ = ET.SubElement(parent, "ogc:PropertyIsEqualTo")
        ET.SubElement(cmp_, "ogc:PropertyName").text = "precision"
        ET.SubElement(cmp_, "ogc:Literal").text = value


def districts_sld(layer: str) -> str:
    """SLD 1.1 of the district outlines."""
    root, fts = _sld_document(layer)
    rule = _se(fts, "Rule")
    _se(rule, "Name", "districts")
    _sld_stroke(_se(rule, "PolygonSymbolizer"), "#555555", 2.0, [], 1.0)
    _sld_label_rule(fts, "name", "polygon", None)
    return _sld_text(root)


def summary_sld(layer: str, values: Iterable[float], field_name: str = "per_100km2") -> str:
    """SLD 1.1 of the district summary: one rule per class of ``field_name``."""
    root, fts = _sld_document(layer)
    breaks = class_breaks(values)
    for i, colour in enumerate(choropleth.class_colours(breaks)):
        rule = _se(fts, "Rule")
        _se(rule, "Name", f"{_num(breaks[i])} – {_num(breaks[i + 1])}")
        _se(_se(rule, "Description"), "Title",
            f"{_num(breaks[i])} – {_num(breaks[i + 1])} {DENSITY_UNIT}")
        flt = ET.SubElement(rule, "ogc:Filter")
        both = ET.SubElement(flt, "ogc:And")
        # upper bounds inclusive, first class closed below: geo.choropleth.class_index
        for op, value in (("GreaterThanOrEqualTo" if i == 0 else "GreaterThan", breaks[i]),
                          ("LessThanOrEqualTo", breaks[i + 1])):
            cmp_ = ET.SubElement(both, f"ogc:PropertyIs{op}")
            ET.SubElement(cmp_, "ogc:PropertyName").text = field_name
            ET.SubElement(cmp_, "ogc:Literal").text = _num(value)
        sym = _se(rule, "PolygonSymbolizer")
        fill = _se(sym, "Fill")
        _svg(fill, "fill", colour)
        _svg(fill, "fill-opacity", "0.75")
        _sld_stroke(sym, "#777777", 1.0, [], 1.0)
    return _sld_text(root)


def table_sld(layer: str) -> str:
    """A minimal SLD for an attribute table (no symbolizers)."""
    root, _ = _sld_document(layer)
    return _sld_text(root)
