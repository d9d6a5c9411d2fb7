"""Open the embedded project of a GeoPackage in QGIS, find its print layout, render it.

Run with the system Python that has QGIS::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_layout_check.py FILE.gpkg NAME OUT.pdf [OUT.png]

Prints one JSON object (tests/test_layout.py asserts on it): the layouts found, the
items of the first one (id, type, position, size), the map's scale and extent,
the legend's entries after filtering by the map, the exporter results, the
PDF's page count (from GDAL's PDF driver when available, else the ``/Type /Page``
objects) and every warning QGIS logged.
"""

from __future__ import annotations

import json
import os
import re
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsLayoutExporter,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemPicture,
    QgsLayoutItemScaleBar,
    QgsLegendRenderer,
    QgsProject,
)

MESSAGES: list[dict] = []


def _log(message: str, tag: str, level) -> None:
    if int(level) >= int(Qgis.Warning):
        MESSAGES.append({"tag": tag, "level": int(level), "message": message})


def legend_entries(legend: QgsLayoutItemLegend) -> list[str]:
    """Labels of the legend's layer and symbol nodes, as the legend draws them."""
    model = legend.model()
    out: list[str] = []
    root = model.rootGroup()
    for layer_node in root.findLayers():
        nodes = model.layerLegendNodes(layer_node)
        if not nodes:
            continue
        out.append(layer_node.name())
        out.extend("  " + str(n.data(0)) for n in nodes)
    return out


def page_count(pdf: str) -> int:
    """Pages of ``pdf``: the ``/Count`` of its page tree root (``/Type /Pages``)."""
    with open(pdf, "rb") as fh:
        data = fh.read()
    counts = [int(c) for c in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data)]
    counts += [int(c) for c in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", data)]
    return max(counts, default=0)


def main() -> int:
    gpkg, name, pdf = sys.argv[1:4]
    png = sys.argv[4] if len(sys.argv) > 4 else ""
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(_log)
    project = QgsProject.instance()
    loaded = project.read(f"geopackage:{os.path.abspath(gpkg)}?projectName={name}")
    manager = project.layoutManager()
    report: dict = {"loaded": loaded, "layouts": [lay.name() for lay in manager.layouts()]}
    if not manager.layouts():
        print(json.dumps(report, ensure_ascii=False))
        return 0
    layout = manager.layouts()[0]
    page = layout.pageCollection().page(0)
    report["page_mm"] = [round(page.pageSize().width(), 1), round(page.pageSize().height(), 1)]
    items = []
    for item in layout.items():
        if not hasattr(item, "id") or not item.id():
            continue
        pos, size = item.positionWithUnits(), item.sizeWithUnits()
        info = {"id": item.id(), "class": type(item).__name__,
                "rect": [round(pos.x(), 1), round(pos.y(), 1),
                         round(size.width(), 1), round(size.height(), 1)]}
        if isinstance(item, QgsLayoutItemMap):
            info["scale"] = round(item.scale())
            ext = item.extent()
            info["extent"] = [ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()]
            info["layers"] = len(item.layersToRender())
        elif isinstance(item, QgsLayoutItemLegend):
            item.updateFilterByMap(False)
            info["linked_map"] = item.linkedMap().id() if item.linkedMap() else None
            info["filter_by_map"] = item.legendFilterByMapEnabled()
            info["entries"] = legend_entries(item)
            info["fits"] = bool(QgsLegendRenderer(item.model(), item.legendSettings())
                                .minimumSize().height() <= size.height() + 0.5)
        elif isinstance(item, QgsLayoutItemScaleBar):
            info["linked_map"] = item.linkedMap().id() if item.linkedMap() else None
            info["units_per_segment"] = item.unitsPerSegment()
            info["unit_label"] = item.unitLabel()
        elif isinstance(item, QgsLayoutItemPicture):
            info["valid_svg"] = item.isMissingImage() is False
            info["north_map"] = item.linkedMap().id() if item.linkedMap() else None
        elif hasattr(item, "text"):
            info["text"] = item.text()
        items.append(info)
    report["items"] = sorted(items, key=lambda i: i["id"])
    exporter = QgsLayoutExporter(layout)
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.rasterizeWholeImage = False
    report["pdf_result"] = int(exporter.exportToPdf(pdf, settings))
    report["pdf_pages"] = page_count(pdf) if os.path.exists(pdf) else 0
    if png:
        img = QgsLayoutExporter.ImageExportSettings()
        img.dpi = 100
        report["png_result"] = int(exporter.exportToImage(png, img))
    report["messages"] = MESSAGES
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
