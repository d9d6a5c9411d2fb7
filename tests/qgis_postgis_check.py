"""Load PostGIS tables in real QGIS and report validity, counts and default styles.

Run with the system Python that has QGIS::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_postgis_check.py CONNINFO TABLE...

CONNINFO is a libpq keyword string (``dbname=… host=… port=… user=…``).  Prints
one JSON object: per table ``valid``, ``count``, ``renderer``, ``attr`` (of
the default style QGIS found in ``layer_styles``), ``first_name`` and
``messages`` (QGIS warnings logged).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsDataSourceUri,
    QgsVectorLayer,
)

MESSAGES: list[dict] = []


def _log(message: str, tag: str, level) -> None:
    MESSAGES.append({"tag": tag, "level": int(level), "message": message})


def main(argv: list[str]) -> int:
    conninfo, tables = argv[0], argv[1:]
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(_log)
    out: dict = {"layers": {}}
    for table in tables:
        uri = QgsDataSourceUri(conninfo)
        uri.setDataSource("public", table, "geom", "", "fid")
        # QGIS's browser and DB manager put the geometry type in the URI, and QGIS looks
        # the default style up by it: detect it once, then load the layer as they do
        probe = QgsVectorLayer(uri.uri(False), table, "postgres",
                               QgsVectorLayer.LayerOptions(loadDefaultStyle=False))
        uri.setWkbType(probe.wkbType())
        layer = QgsVectorLayer(uri.uri(False), table, "postgres")
        info = {"valid": layer.isValid()}
        if layer.isValid():
            renderer = layer.renderer()
            feats = layer.getFeatures()
            first = next(feats, None)
            info.update(count=layer.featureCount(), renderer=renderer.type(),
                        attr=getattr(renderer, "classAttribute", lambda: None)(),
                        first_name=first["name"] if first is not None else None,
                        alias=layer.attributeAlias(layer.fields().indexOf("name")))
        out["layers"][table] = info
    QgsApplication.processEvents()
    out["messages"] = [m for m in MESSAGES if m["level"] >= int(Qgis.Warning)]
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.flush()
    # exitQgis() with postgres connections still pooled crashes QGIS 3.22 at exit;
    # the report is written, so leave without tearing the application down
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
