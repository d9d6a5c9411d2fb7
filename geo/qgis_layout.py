"""The A3 landscape print layout stored in the embedded QGIS project (``<Layouts>``).

Written without QGIS, as the rest of the project: a ``<Layout>`` with a page, a
map at the city extent, the report's title, a legend of the visible project
layers filtered by the map's content (so empty classes are not listed), a
scale bar in kilometres, a north arrow, and a source text naming the report,
the data licences, the date and a 审图号 (map approval number) placeholder.

Only the attributes that differ from QGIS's defaults are written; QGIS 3.22
fills in the rest when it reads the layout (``tests/qgis_layout_check.py``
opens it and renders it to PDF).  Item uuids derive from the item names, so the
document is deterministic.
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

#: Name of the layout in the project (Project → Layouts).
LAYOUT_NAME = "A3 横向 landscape"
#: A3 landscape page, millimetres.
PAGE_W, PAGE_H = 420.0, 297.0
MARGIN = 10.0
#: Narrowest panel right of the map (legend, source text), millimetres; the panel
#: takes what the map does not need for the city's shape.
PANEL_MIN_W = 118.0
#: Font family written into the layout; QGIS substitutes a CJK-capable font
#: (fontconfig / Windows font linking) when it is missing.
FONT = "Noto Sans CJK SC"
#: QGIS layout item type ids (QgsLayoutItemRegistry: QGraphicsItem::UserType + 100 + n).
_TYPES = {"page": 65638, "map": 65639, "picture": 65640, "label": 65641, "legend": 65642,
          "scalebar": 65646}
#: QGIS's built-in north arrow (compiled into QGIS's resources).
NORTH_ARROW_SVG = ":/images/north_arrows/layout_default_north_arrow.svg"
#: Map scales the layout may use: the smallest that shows the whole extent.
_NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0)


@dataclass
class LegendLayer:
    """A project layer listed in the legend (id and title as in the layer tree)."""

    layer_id: str
    title: str


def item_uuid(name: str) -> str:
    """Deterministic ``{uuid}`` of a layout item."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"geo-layout:{name}")) + "}"


def _font(size: float, bold: bool = False) -> str:
    """A QFont description string (family, point size, weight 50 normal / 75 bold)."""
    return f"{FONT},{size:g},-1,5,{75 if bold else 50},0,0,0,0,0"


def _colour(parent: ET.Element, tag: str, r: int, g: int, b: int, a: int = 255) -> None:
    ET.SubElement(parent, tag, {"red": str(r), "green": str(g), "blue": str(b),
                                "alpha": str(a)})


def _item(parent: ET.Element, kind: str, name: str, pos: tuple[float, float],
          size: tuple[float, float], z: int, **attrs: str) -> ET.Element:
    """A ``<LayoutItem>`` with position/size in mm, white background off unless asked."""
    x, y = pos
    w, h = size
    base = {"type": str(_TYPES[kind]), "id": name, "uuid": item_uuid(name),
            "templateUuid": item_uuid(name), "position": f"{x:g},{y:g},mm",
            "positionOnPage": f"{x:g},{y:g},mm", "size": f"{w:g},{h:g},mm",
            "zValue": str(z), "frame": "false", "background": "false", "visibility": "1",
            "referencePoint": "0", "itemRotation": "0", "opacity": "1",
            "excludeFromExports": "0", "positionLock": "false", "groupUuid": "",
            "blendMode": "0", "outlineWidthM": "0.3,mm", "frameJoinStyle": "miter"}
    base.update(attrs)
    elem = ET.SubElement(parent, "LayoutItem", base)
    _colour(elem, "FrameColor", 0, 0, 0)
    _colour(elem, "BackgroundColor", 255, 255, 255)
    return elem


def nice_scale(denominator: float) -> int:
    """The smallest 'round' scale denominator (1, 1.25, 1.5, 2, 2.5 … × 10ⁿ) ≥ ``denominator``."""
    power = 10 ** math.floor(math.log10(denominator))
    for step in _NICE_STEPS:
        if step * power >= denominator - 1e-6:
            return int(round(step * power))
    return int(round(10 * power))


def fit_extent(extent: Sequence[float], width_mm: float,
               height_mm: float) -> tuple[tuple[float, float, float, float], int]:
    """The map extent (project CRS metres) centred on ``extent`` with the item's aspect
    ratio, at the round scale that shows all of ``extent``, and that scale."""
    x0, y0, x1, y1 = extent
    needed = max((x1 - x0) / (width_mm / 1000), (y1 - y0) / (height_mm / 1000))
    scale = nice_scale(needed)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = scale * width_mm / 2000, scale * height_mm / 2000
    return (round(cx - half_w, 1), round(cy - half_h, 1), round(cx + half_w, 1),
            round(cy + half_h, 1)), scale


def _page(layout: ET.Element) -> None:
    pages = ET.SubElement(layout, "PageCollection")
    _item(pages, "page", "page", (0, 0), (PAGE_W, PAGE_H), 0, background="true")
    ET.SubElement(pages, "GuideCollection", {"visible": "1"})


def _map(layout: ET.Element, extent: Sequence[float], pos: tuple[float, float],
         size: tuple[float, float]) -> None:
    elem = _item(layout, "map", "map", pos, size, 1, frame="true", background="true",
                 keepLayerSet="false", followPreset="false", followPresetName="",
                 drawCanvasItems="true", mapRotation="0", mapFlags="0", isTemporal="0",
                 labelMargin="0,mm")
    ET.SubElement(elem, "Extent", {k: f"{v:.1f}" for k, v in
                                   zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True)})
    ET.SubElement(elem, "LayerSet")


def _label(layout: ET.Element, name: str, text: str, pos: tuple[float, float],
           size: tuple[float, float], font: str, halign: int = 1, valign: int = 32,
           background: bool = False) -> None:
    """A text label; ``halign`` Qt::AlignLeft 1 / AlignHCenter 4, ``valign`` AlignTop 32."""
    elem = _item(layout, "label", name, pos, size, 3, labelText=text, htmlState="0",
                 halign=str(halign), valign=str(valign), marginX="1", marginY="1",
                 background="true" if background else "false")
    ET.SubElement(elem, "LabelFont", {"description": font, "style": ""})
    _colour(elem, "FontColor", 35, 35, 35)


def _legend(layout: ET.Element, layers: Sequence[LegendLayer], pos: tuple[float, float],
            size: tuple[float, float]) -> None:
    """Legend of ``layers`` (a custom tree, so hidden and table layers stay out), filtered
    by the map's content: only the classes drawn in the map are listed."""
    elem = _item(layout, "legend", "legend", pos, size, 2, title="图例 Legend",
                 map_uuid=item_uuid("map"), legendFilterByMap="1", legendFilterByAtlas="0",
                 resizeToContents="0", columnCount="2", splitLayer="1",
                 equalColumnWidth="0", columnSpace="3", boxSpace="1", symbolWidth="6",
                 symbolHeight="3.5", lineSpacing="0.5", wrapChar="", titleAlignment="1",
                 symbolAlignment="1", fontColor="#232323", rasterBorder="0",
                 background="true")
    styles = ET.SubElement(elem, "styles")
    for name, size_pt, bold, margin in (("title", 12, True, 2.5), ("group", 8, True, 2),
                                        ("subgroup", 7.5, True, 1.5),
                                        ("symbol", 7, False, 0.8),
                                        ("symbolLabel", 6.5, False, 0.8)):
        style = ET.SubElement(styles, "style", {
            "name": name, "alignment": "1", "indent": "0",
            ("marginBottom" if name == "title" else "marginTop"): f"{margin:g}"})
        ET.SubElement(style, "styleFont", {"description": _font(size_pt, bold), "style": ""})
    tree = ET.SubElement(elem, "layer-tree-group")
    ET.SubElement(ET.SubElement(tree, "customproperties"), "Option")
    for layer in layers:
        node = ET.SubElement(tree, "layer-tree-layer", {
            "id": layer.layer_id, "name": layer.title, "checked": "Qt::Checked",
            "expanded": "1", "providerKey": "ogr", "source": ""})
        ET.SubElement(ET.SubElement(node, "customproperties"), "Option")


def _scalebar(layout: ET.Element, pos: tuple[float, float], scale: int) -> None:
    """A two-segment single-box scale bar in kilometres, about 60 mm long."""
    segment_km = nice_scale(max(scale * 0.025 / 1000, 1.0))  # ~25 mm per segment
    elem = _item(layout, "scalebar", "scalebar", pos, (80, 14), 4, background="true",
                 mapUuid=item_uuid("map"), style="Single Box", unitType="km",
                 unitLabel="km", numMapUnitsPerScaleBarUnit="1",
                 numUnitsPerSegment=str(segment_km), segmentSizeMode="0",
                 numSegments="2", numSegmentsLeft="0", numSubdivisions="1",
                 subdivisionsHeight="1.5", height="2.5", labelBarSpace="2",
                 boxContentSpace="1.5", alignment="0", minBarWidth="50",
                 maxBarWidth="150", segmentMillimeters="0", labelVerticalPlacement="0",
                 labelHorizontalPlacement="0", lineJoinStyle="miter",
                 lineCapStyle="square", outlineWidth="0.3")
    text = ET.SubElement(elem, "text-style", {"fontFamily": FONT, "fontSize": "8",
                                              "fontSizeUnit": "Point",
                                              "textColor": "35,35,35,255", "textOpacity": "1",
                                              "fontWeight": "50", "multilineHeight": "1"})
    ET.SubElement(text, "text-buffer", {"bufferDraw": "0"})
    _colour(elem, "fillColor", 35, 35, 35)
    _colour(elem, "fillColor2", 255, 255, 255)


def _north_arrow(layout: ET.Element, pos: tuple[float, float]) -> None:
    _item(layout, "picture", "north_arrow", pos, (10, 16), 5, file=NORTH_ARROW_SVG,
          mode="0", resizeMode="0", anchorPoint="0", pictureRotation="0",
          mapUuid=item_uuid("map"), northMode="0", northOffset="0",
          svgFillColor="255,255,255,255", svgBorderColor="0,0,0,255",
          svgBorderWidth="0.2", pictureWidth="10", pictureHeight="16")


def print_layout(*, title: str, subtitle: str, extent: Sequence[float],
                 legend_layers: Sequence[LegendLayer], source_text: str) -> ET.Element:
    """``<Layouts>`` holding the A3 landscape layout (see the module docstring)."""
    root = ET.Element("Layouts")
    layout = ET.SubElement(root, "Layout", {"name": LAYOUT_NAME, "units": "mm",
                                            "printResolution": "300", "worldFileMap": ""})
    ET.SubElement(layout, "Snapper", {"tolerance": "5", "snapToGrid": "0",
                                      "snapToGuides": "1", "snapToItems": "1"})
    ET.SubElement(layout, "Grid", {"resolution": "10", "resUnits": "mm", "offsetX": "0",
                                   "offsetY": "0", "offsetUnits": "mm"})
    _page(layout)
    top = MARGIN + 16
    map_h = PAGE_H - top - MARGIN
    aspect = (extent[2] - extent[0]) / (extent[3] - extent[1])
    map_w = min(PAGE_W - 2 * MARGIN - PANEL_MIN_W - 4, max(map_h * aspect * 1.08, map_h * 0.6))
    panel_w = PAGE_W - 2 * MARGIN - map_w - 4
    map_extent, scale = fit_extent(extent, map_w, map_h)
    _map(layout, map_extent, (MARGIN, top), (map_w, map_h))
    _label(layout, "title", title, (MARGIN, MARGIN - 2), (PAGE_W - 2 * MARGIN, 10),
           _font(20))
    _label(layout, "subtitle", subtitle, (MARGIN, MARGIN + 8), (PAGE_W - 2 * MARGIN, 7),
           _font(9))
    panel_x = PAGE_W - MARGIN - panel_w
    source_h = 40
    _legend(layout, legend_layers, (panel_x, top), (panel_w, map_h - source_h - 3))
    _label(layout, "source", source_text, (panel_x, PAGE_H - MARGIN - source_h),
           (panel_w, source_h), _font(7), background=True)
    _scalebar(layout, (MARGIN + 3, PAGE_H - MARGIN - 17), scale)
    _north_arrow(layout, (MARGIN + map_w - 15, top + 4))
    return root
