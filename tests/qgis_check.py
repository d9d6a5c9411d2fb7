"""Open a GeoPackage written by geo.layers in real QGIS and report what QGIS sees.

Run with the system Python that has QGIS (not the project's virtualenv)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py FILE.gpkg OUT.png \
        [--project NAME] [--project-id P-...]

Prints one JSON object on stdout (tests/test_layers.py asserts on it):

* ``layers``: every GeoPackage table loaded on its own - valid, feature count,
  renderer type and categories of its default style (from ``layer_styles``),
  label scale, layer metadata title;
* ``project``: the embedded project (``geopackage:…?projectName=…``) - loaded,
  its layers with validity and source, groups, relations, and the mentions a
  relation returns for ``--project-id``;
* ``render``: non-background pixels of a PNG of the project's default view
  (``OUT.png``) and labels drawn there and in a zoomed view (``OUT_zoom.png``);
* ``messages``: warnings QGIS logged, and GDAL warnings/errors, while doing so.

Exit status 0 when the script ran; the assertions live in the test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from osgeo import gdal, ogr  # noqa: E402
from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsMapLayerType,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

MESSAGES: list[dict] = []


def _log(message: str, tag: str, level) -> None:
    MESSAGES.append({"tag": tag, "level": int(level), "message": message})


def _gdal_handler(err_class: int, err_no: int, message: str) -> None:
    """Record GDAL warnings and errors (QGIS lets many of them go to stderr only)."""
    if err_class >= gdal.CE_Warning:
        MESSAGES.append({"tag": "GDAL", "level": int(Qgis.Warning), "message": message})
    sys.stderr.write(f"GDAL {err_class} {err_no}: {message}\n")


def table_names(path: str) -> list[str]:
    ds = ogr.Open(path)
    return [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]


def layer_report(layer: QgsVectorLayer) -> dict:
    """Validity, count and default style of one layer."""
    info = {"valid": layer.isValid(), "count": layer.featureCount(),
            "geometry": int(layer.geometryType()), "renderer": None,
            "metadata_title": layer.metadata().title(),
            "aliases": {f.name(): layer.attributeAlias(i)
                        for i, f in enumerate(layer.fields()) if layer.attributeAlias(i)}}
    renderer = layer.renderer() if layer.isSpatial() else None
    if renderer is not None:
        info["renderer"] = renderer.type()
        if renderer.type() == "categorizedSymbol":
            info["attr"] = renderer.classAttribute()
            info["categories"] = [c.value() for c in renderer.categories()]
            info["category_labels"] = [c.label() for c in renderer.categories()]
            info["symbol_opacity"] = [c.symbol().opacity() for c in renderer.categories()]
    if layer.isSpatial() and layer.labelsEnabled() and layer.labeling() is not None:
        settings = layer.labeling().settings()
        info["label_field"] = settings.fieldName
        info["label_scale_visibility"] = settings.scaleVisibility
        info["label_min_scale"] = settings.minimumScale
    return info


def check_layers(path: str) -> dict:
    out = {}
    for name in table_names(path):
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        out[name] = layer_report(layer)
    return out


def sld_report(path: str) -> dict:
    """Each point layer's stored SLD read back by QGIS into a memory layer: the
    rules and, per rule, the marker shapes of its symbol layers."""
    import sqlite3
    import tempfile

    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT f_table_name, styleSLD FROM layer_styles"
                           " WHERE f_table_name LIKE '%point%' OR f_table_name = 'stations'"
                           ).fetchall()
    finally:
        con.close()
    out = {}
    for table, sld in rows:
        with tempfile.NamedTemporaryFile("w", suffix=".sld", delete=False,
                                         encoding="utf-8") as fh:
            fh.write(sld)
        layer = QgsVectorLayer("Point?crs=EPSG:4326", table, "memory")
        message, ok = layer.loadSldStyle(fh.name)
        os.unlink(fh.name)
        rules = {}
        renderer = layer.renderer()
        if ok and renderer is not None and renderer.type() == "RuleRenderer":
            for rule in renderer.rootRule().descendants():
                if rule.symbol() is not None:
                    rules[rule.label() or rule.filterExpression()] = [
                        sl.properties().get("name") for sl in rule.symbol().symbolLayers()]
        out[table] = {"ok": ok, "message": message if not ok else "",
                      "renderer": renderer.type() if renderer else None, "rules": rules}
    return out


def _groups(project: QgsProject) -> list[dict]:
    groups = []
    for group in project.layerTreeRoot().findGroups():
        groups.append({"name": group.name(),
                       "layers": [n.layer().name() if n.layer() else None
                                  for n in group.findLayers()]})
    return groups


def related_mentions(project: QgsProject, project_id: str) -> dict:
    """For every relation to 'mentions', the mention ids related to ``project_id``."""
    out = {}
    for rel in project.relationManager().relations().values():
        child, parent = rel.referencingLayer(), rel.referencedLayer()
        if child is None or parent is None or "mention_id" not in child.fields().names():
            continue
        if "project_id" not in parent.fields().names():
            continue
        parent.selectByExpression(f"\"project_id\" = '{project_id}'")
        feats = list(parent.selectedFeatures())
        parent.removeSelection()
        if not feats:
            continue
        ids = sorted(f["mention_id"] for f in rel.getRelatedFeatures(feats[0]))
        out[parent.id().removesuffix("_gpkg")] = ids
    return out


def check_project(path: str, name: str, project_id: str | None) -> tuple[dict, QgsProject]:
    project = QgsProject.instance()
    ok = project.read(f"geopackage:{path}?projectName={name}")
    layers = []
    for layer in project.mapLayers().values():
        layers.append({"id": layer.id(), "name": layer.name(), "valid": layer.isValid(),
                       "source": layer.source(), "provider": layer.providerType(),
                       "table": layer.id().removesuffix("_gpkg")
                       if layer.providerType() == "ogr" else None,
                       "count": layer.featureCount()
                       if layer.type() == QgsMapLayerType.VectorLayer else None})
    relations = [{"name": r.name(), "valid": r.isValid(),
                  "child": r.referencingLayer().name() if r.referencingLayer() else None,
                  "parent": r.referencedLayer().name() if r.referencedLayer() else None}
                 for r in project.relationManager().relations().values()]
    report = {"loaded": ok, "title": project.title(), "crs": project.crs().authid(),
              "layers": layers, "groups": _groups(project), "relations": relations,
              "view_extent": _rect(project.viewSettings().defaultViewExtent())}
    if project_id:
        report["related_mentions"] = related_mentions(project, project_id)
    themes = project.mapThemeCollection()
    report["map_themes"] = {name: sorted(themes.mapThemeVisibleLayerIds(name))
                            for name in themes.mapThemes()}
    report["map_theme_legend"] = {
        name: {rec.layer().id(): sorted(rec.checkedLegendItems)
               for rec in themes.mapThemeState(name).layerRecords()
               if rec.layer() is not None and rec.usingLegendItems}
        for name in themes.mapThemes()}
    report["legend_keys"] = {
        layer.id(): {item.ruleKey(): item.label()
                     for item in layer.renderer().legendSymbolItems()}
        for layer in project.mapLayers().values()
        if layer.type() == QgsMapLayerType.VectorLayer and layer.isSpatial()
        and layer.renderer() is not None}
    return report, project


def _rect(rect: QgsRectangle) -> list[float]:
    return [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]


def render(project: QgsProject, extent: QgsRectangle, out: str,
           size: tuple[int, int] = (1200, 1000)) -> dict:
    """Render the checked layers of ``project`` to ``out``; count ink pixels and labels."""
    root = project.layerTreeRoot()
    visible = [lyr for lyr in root.layerOrder()
               if root.findLayer(lyr.id()).isVisible() and lyr.isSpatial()
               and lyr.providerType() == "ogr"]
    settings = QgsMapSettings()
    settings.setLayers(visible)
    settings.setDestinationCrs(project.crs())
    settings.setTransformContext(project.transformContext())
    settings.setOutputSize(QSize(*size))
    settings.setExtent(extent)
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setFlag(QgsMapSettings.DrawLabeling, True)
    # as QGIS's map canvas and layouts do: @map_scale etc. for label and symbol expressions
    context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(None))
    context.appendScope(QgsExpressionContextUtils.mapSettingsScope(settings))
    settings.setExpressionContext(context)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image: QImage = job.renderedImage()
    image.save(out, "PNG")
    labels = job.takeLabelingResults()
    placed = labels.allLabels() if labels is not None else []
    by_layer: dict[str, list[str]] = {}
    for label in placed:
        if not label.isUnplaced:
            by_layer.setdefault(label.layerID, []).append(label.labelText)
    return {"png": out, "layers": [lyr.name() for lyr in visible], "ink": _ink(image),
            "pixels": image.width() * image.height(), "labels": len(placed),
            "labels_by_layer": {k: sorted(v) for k, v in sorted(by_layer.items())},
            "scale": settings.scale()}


def _ink(image: QImage) -> int:
    """Number of pixels that are not pure white."""
    img = image.convertToFormat(QImage.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    words = memoryview(bytes(ptr)).cast("I")
    white = 0xFFFFFFFF
    return sum(1 for w in words if w != white)


def _zoom_extent(project: QgsProject) -> QgsRectangle | None:
    """A ~1:50 000 view centred on the first feature of the first line layer."""
    for layer in project.layerTreeRoot().layerOrder():
        if layer.isSpatial() and layer.providerType() == "ogr" and layer.featureCount():
            feat = next(layer.getFeatures())
            from qgis.core import QgsCoordinateTransform

            tr = QgsCoordinateTransform(layer.crs(), project.crs(), project)
            centre = tr.transform(feat.geometry().pointOnSurface().asPoint())
            half = 8000.0  # metres in EPSG:3857 around Ningbo ~ 1:50 000 at 1200 px
            return QgsRectangle(centre.x() - half, centre.y() - half,
                                centre.x() + half, centre.y() + half)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gpkg")
    parser.add_argument("png")
    parser.add_argument("--project", default=None, help="project name (default: file stem)")
    parser.add_argument("--project-id", default=None)
    args = parser.parse_args(argv)
    path = os.path.abspath(args.gpkg)
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(_log)
    gdal.PushErrorHandler(_gdal_handler)
    report = {"qgis": Qgis.version(), "gdal": gdal.__version__}
    report["layers"] = check_layers(path)
    report["sld"] = sld_report(path)
    name = args.project or os.path.splitext(os.path.basename(path))[0]
    report["project"], project = check_project(path, name, args.project_id)
    report["render"] = render(project, project.viewSettings().defaultViewExtent(), args.png)
    zoom = _zoom_extent(project)
    if zoom is not None:
        zoom_png = os.path.splitext(args.png)[0] + "_zoom.png"
        report["render_zoom"] = render(project, zoom, zoom_png)
    QgsApplication.processEvents()
    report["messages"] = [m for m in MESSAGES if m["level"] >= int(Qgis.Warning)]
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    project.clear()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
