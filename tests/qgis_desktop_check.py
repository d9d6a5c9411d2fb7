"""Run inside QGIS desktop (``qgis --code``): open the embedded project and a feature form,
write every warning QGIS logged to the JSON file named by ``GEO_DESKTOP_REPORT``.

Started by tests/test_layers.py under ``xvfb-run`` with environment variables
``GEO_DESKTOP_GPKG`` (GeoPackage), ``GEO_DESKTOP_PROJECT`` (project name) and
``GEO_DESKTOP_LAYER`` (layer id whose first feature's form is opened).
"""

import json
import os

from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

MESSAGES = []


def _log(message, tag, level):
    MESSAGES.append({"tag": tag, "level": int(level), "message": message})


def _finish(report):
    report["messages"] = [m for m in MESSAGES if m["level"] >= int(Qgis.Warning)]
    with open(os.environ["GEO_DESKTOP_REPORT"], "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=1)
    os._exit(0)


def _open_form(report):
    layer = QgsProject.instance().mapLayer(os.environ["GEO_DESKTOP_LAYER"])
    report["form_layer"] = layer.name() if layer else None
    if layer is not None:
        feature = next(layer.getFeatures(), None)
        if feature is not None:
            dialog = iface.getFeatureForm(layer, feature)
            dialog.show()
            report["form_opened"] = True
            QgsApplication.processEvents()
            QTimer.singleShot(1500, lambda: _finish(report))
            return
    _finish(report)


def main():
    QgsApplication.messageLog().messageReceived.connect(_log)
    uri = (f"geopackage:{os.environ['GEO_DESKTOP_GPKG']}"
           f"?projectName={os.environ['GEO_DESKTOP_PROJECT']}")
    report = {"loaded": QgsProject.instance().read(uri), "form_opened": False}
    report["layers"] = {lyr.id(): lyr.isValid()
                        for lyr in QgsProject.instance().mapLayers().values()}
    QTimer.singleShot(1500, lambda: _open_form(report))


main()
