"""The QGIS project stored inside the GeoPackage (table ``qgis_projects``).

QGIS (3.8 and later) opens projects stored in a GeoPackage with the URI
``geopackage:/path/file.gpkg?projectName=NAME`` or from the Browser panel
(expand the GeoPackage; the project is listed under it).  The table's
``content`` column holds the hex of a ``.qgz`` zip with the ``.qgs`` XML built
here, exactly what QGIS itself writes.

Layer sources are relative, ``./<file name>.gpkg|layername=<table>``: QGIS
resolves them against the folder of the GeoPackage holding the project, so the
file keeps working after it is renamed into place, copied or mailed, as long
as its file name stays the same.

The document is deterministic: layer ids derive from table names, the zip
member carries a fixed date, and no save time or user name is written.
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from . import resources
from .qgis_style import QGIS_VERSION, Style

#: Spatial reference systems we write (QGIS resolves them from ``authid``).
CRS_DEFS = {
    "EPSG:4326": {"proj4": "+proj=longlat +datum=WGS84 +no_defs", "srsid": "3452",
                  "srid": "4326", "description": "WGS 84", "projectionacronym": "longlat",
                  "ellipsoidacronym": "EPSG:7030", "geographicflag": "true"},
    "EPSG:3857": {"proj4": "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 "
                           "+k=1 +units=m +nadgrids=@null +wktext +no_defs",
                  "srsid": "3857", "srid": "3857", "description": "WGS 84 / Pseudo-Mercator",
                  "projectionacronym": "merc", "ellipsoidacronym": "EPSG:7030",
                  "geographicflag": "false"},
}

#: Project CRS: Web Mercator, so an XYZ base map can be shown without reprojection.
PROJECT_CRS = "EPSG:3857"

#: The optional OpenStreetMap base map (off by default: tiles need the internet).
OSM_XYZ = "type=xyz&url=https://tile.openstreetmap.org/{z}/{x}/{y}.png&zmax=19&zmin=0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL), tiles: openstreetmap.org"

_GEOMETRY = {"point": ("Point", "MultiPoint"), "line": ("Line", "MultiLineString"),
             "polygon": ("Polygon", "MultiPolygon"), "none": ("No geometry", "NoGeometry")}


@dataclass
class ProjectLayer:
    """One GeoPackage table shown in the project."""

    table: str
    title: str
    geom: str  # point | line | polygon | none
    group: str
    style: Style
    visible: bool = True
    metadata: dict = field(default_factory=dict)
    #: Table the layer reads when it is a filtered view of another table (theme layers
    #: read ``projects_<class>`` filtered on ``theme``); empty: ``table`` itself.
    source_table: str = ""
    #: OGR subset (SQL WHERE) of a filtered layer.
    subset: str = ""


@dataclass
class ProjectRelation:
    """A 1:n relation: ``child.child_field`` references ``parent.parent_field``."""

    name: str
    parent: str
    child: str
    parent_field: str
    child_field: str

    @property
    def id(self) -> str:
        """The relation id QGIS uses (stable, derived from the tables and fields)."""
        return f"rel_{self.child}_{self.child_field}_{self.parent}"


def layer_id(table: str) -> str:
    """Stable QGIS layer id of a GeoPackage table."""
    return f"{table}_gpkg"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    elem.text = text
    return elem


def spatialrefsys(parent: ET.Element, authid: str) -> ET.Element:
    """Append a ``<spatialrefsys>`` for ``authid`` (one of :data:`CRS_DEFS`)."""
    srs = ET.SubElement(parent, "spatialrefsys")
    d = CRS_DEFS[authid]
    _text(srs, "wkt", "")
    _text(srs, "proj4", d["proj4"])
    _text(srs, "srsid", d["srsid"])
    _text(srs, "srid", d["srid"])
    _text(srs, "authid", authid)
    for key in ("description", "projectionacronym", "ellipsoidacronym", "geographicflag"):
        _text(srs, key, d[key])
    return srs


def to_web_mercator(lon: float, lat: float) -> tuple[float, float]:
    """Project WGS84 lon/lat to EPSG:3857 metres (spherical formula, exact for 3857)."""
    r = 6378137.0
    lat = max(min(lat, 85.0511), -85.0511)
    return r * math.radians(lon), r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def mercator_extent(bounds: Sequence[float], margin: float = 0.05) -> tuple[float, ...]:
    """EPSG:3857 extent of WGS84 ``bounds`` (minx, miny, maxx, maxy), widened by ``margin``."""
    x0, y0 = to_web_mercator(bounds[0], bounds[1])
    x1, y1 = to_web_mercator(bounds[2], bounds[3])
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (round(x0 - dx, 1), round(y0 - dy, 1), round(x1 + dx, 1), round(y1 + dy, 1))


# --------------------------------------------------------------------------- metadata


def resource_metadata(md: dict, tag: str = "resourceMetadata") -> ET.Element:
    """QGIS layer metadata (title, abstract, keywords, links, rights, licence, CRS, extent).

    ``md`` keys: identifier, title, abstract, keywords (list), links (list of
    (name, url) pairs), rights (list), licenses (list), crs (authid),
    extent (minx, miny, maxx, maxy in the CRS) - all optional.
    """
    root = ET.Element(tag)
    _text(root, "identifier", md.get("identifier", ""))
    _text(root, "parentidentifier", md.get("parentidentifier", ""))
    _text(root, "language", md.get("language", "zh"))
    _text(root, "type", "dataset")
    _text(root, "title", md.get("title", ""))
    _text(root, "abstract", md.get("abstract", ""))
    if md.get("keywords"):
        kw = ET.SubElement(root, "keywords", {"vocabulary": "keywords"})
        for word in md["keywords"]:
            _text(kw, "keyword", word)
    links = ET.SubElement(root, "links")
    for name, url in md.get("links", []):
        ET.SubElement(links, "link", {"name": name, "type": "WWW:LINK", "url": url,
                                      "description": "", "format": "", "mimeType": "",
                                      "size": ""})
    _text(root, "fees", "")
    for text in md.get("rights", []):
        _text(root, "rights", text)
    for text in md.get("licenses", []):
        _text(root, "license", text)
    _text(root, "encoding", "UTF-8")
    if md.get("crs"):
        spatialrefsys(ET.SubElement(root, "crs"), md["crs"])
    if md.get("extent") and md.get("crs"):
        ext = ET.SubElement(root, "extent")
        minx, miny, maxx, maxy = (f"{v:.6f}" for v in md["extent"])
        ET.SubElement(ext, "spatial", {"dimensions": "2", "crs": md["crs"], "minx": minx,
                                       "miny": miny, "minz": "0", "maxx": maxx, "maxy": maxy,
                                       "maxz": "0"})
    return root


def layer_metadata_qmd(md: dict) -> str:
    """A QGIS ``.qmd`` document (layer metadata) as stored by QGIS in ``gpkg_metadata``."""
    root = resource_metadata(md, tag="qgis")
    root.set("version", QGIS_VERSION)
    ET.indent(root, space=" ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


# --------------------------------------------------------------------------- layers


def _vector_layer(layer: ProjectLayer, gpkg_name: str) -> ET.Element:
    geometry, wkb = _GEOMETRY[layer.geom]
    elem = ET.Element("maplayer", {"type": "vector", "geometry": geometry, "wkbType": wkb,
                                   "labelsEnabled": "1" if layer.style.labels_enabled else "0",
                                   "styleCategories": "AllStyleCategories", "readOnly": "0",
                                   "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000",
                                   "maxScale": "0", "autoRefreshEnabled": "0"})
    _text(elem, "id", layer_id(layer.table))
    _text(elem, "datasource", layer_source(layer, gpkg_name))
    _text(elem, "layername", layer.title)
    if layer.geom != "none":
        spatialrefsys(ET.SubElement(elem, "srs"), "EPSG:4326")
    elem.append(resource_metadata(layer.metadata))
    _text(elem, "provider", "ogr", encoding="UTF-8")
    elem.extend(layer.style.elements)
    return elem


def _basemap_layer() -> ET.Element:
    elem = ET.Element("maplayer", {"type": "raster", "styleCategories": "AllStyleCategories",
                                   "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000",
                                   "maxScale": "0", "autoRefreshEnabled": "0"})
    _text(elem, "id", "openstreetmap_xyz")
    _text(elem, "datasource", OSM_XYZ)
    _text(elem, "layername", "OpenStreetMap")
    spatialrefsys(ET.SubElement(elem, "srs"), "EPSG:3857")
    elem.append(resource_metadata({"title": "OpenStreetMap", "rights": [OSM_ATTRIBUTION],
                                   "licenses": ["ODbL 1.0"], "crs": "EPSG:3857"}))
    _text(elem, "provider", "wms")
    return elem


def source(gpkg_name: str, table: str, subset: str = "") -> str:
    """Relative OGR source of ``table`` in the GeoPackage named ``gpkg_name``."""
    return f"./{gpkg_name}|layername={table}" + (f"|subset={subset}" if subset else "")


def layer_source(layer: ProjectLayer, gpkg_name: str) -> str:
    """OGR source of a project layer: its own table, or a filtered view of another."""
    return source(gpkg_name, layer.source_table or layer.table, layer.subset)


def _tree_layer(parent: ET.Element, lid: str, name: str, src: str, provider: str,
                visible: bool) -> None:
    node = ET.SubElement(parent, "layer-tree-layer", {
        "id": lid, "name": name, "source": src, "providerKey": provider,
        "checked": "Qt::Checked" if visible else "Qt::Unchecked", "expanded": "0"})
    ET.SubElement(ET.SubElement(node, "customproperties"), "Option")


def layer_tree(layers: Sequence[ProjectLayer], gpkg_name: str, basemap: bool) -> ET.Element:
    """The layer tree: one group per distinct ``group`` in first-seen order."""
    root = ET.Element("layer-tree-group")
    ET.SubElement(ET.SubElement(root, "customproperties"), "Option")
    groups: dict[str, ET.Element] = {}
    for layer in layers:
        if layer.group not in groups:
            groups[layer.group] = ET.SubElement(root, "layer-tree-group", {
                "name": layer.group, "checked": "Qt::Checked",
                "expanded": "1" if layer.geom != "none" else "0"})
            ET.SubElement(ET.SubElement(groups[layer.group], "customproperties"), "Option")
        _tree_layer(groups[layer.group], layer_id(layer.table), layer.title,
                    layer_source(layer, gpkg_name), "ogr", layer.visible)
    if basemap:
        _tree_layer(root, "openstreetmap_xyz", "OpenStreetMap", OSM_XYZ, "wms", False)
    return root


def relations(rels: Sequence[ProjectRelation]) -> ET.Element:
    """``<relations>``: each child layer's rows listed in the parent's attribute form."""
    root = ET.Element("relations")
    for rel in rels:
        elem = ET.SubElement(root, "relation", {
            "id": rel.id, "name": rel.name, "referencingLayer": layer_id(rel.child),
            "referencedLayer": layer_id(rel.parent), "strength": "Association"})
        ET.SubElement(elem, "fieldRef", {"referencingField": rel.child_field,
                                         "referencedField": rel.parent_field})
    return root


def _extent_elem(parent: ET.Element, tag: str, extent: Sequence[float]) -> None:
    ext = ET.SubElement(parent, tag)
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        _text(ext, key, f"{value:.1f}")


def map_canvas(extent: Sequence[float]) -> ET.Element:
    """``<mapcanvas>`` with the initial extent in the project CRS."""
    canvas = ET.Element("mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    _text(canvas, "units", "meters")
    _extent_elem(canvas, "extent", extent)
    _text(canvas, "rotation", "0")
    spatialrefsys(ET.SubElement(canvas, "destinationsrs"), PROJECT_CRS)
    _text(canvas, "rendermaptile", "0")
    return canvas


def view_settings(extent: Sequence[float]) -> ET.Element:
    """``<ProjectViewSettings>`` with the default view extent (used by QGIS and QField)."""
    view = ET.Element("ProjectViewSettings", {"UseProjectScales": "0", "rotation": "0"})
    ET.SubElement(view, "Scales")
    attrs = {k: f"{v:.1f}" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent,
                                          strict=True)}
    spatialrefsys(ET.SubElement(view, "DefaultViewExtent", attrs), PROJECT_CRS)
    return view


def properties() -> ET.Element:
    """Project properties: relative paths, kilometres for measurements."""
    props = ET.Element("properties")
    paths = ET.SubElement(props, "Paths")
    _text(paths, "Absolute", "false", type="bool")
    meas = ET.SubElement(props, "Measurement")
    _text(meas, "DistanceUnits", "km", type="QString")
    _text(meas, "AreaUnits", "km2", type="QString")
    measure = ET.SubElement(props, "Measure")
    _text(measure, "Ellipsoid", "EPSG:7030", type="QString")
    # Without this flag QGIS ignores <projectCrs> and opens the project without a CRS.
    srs = ET.SubElement(props, "SpatialRefSys")
    _text(srs, "ProjectionsEnabled", "1", type="int")
    return props


def build_qgs(*, title: str, gpkg_name: str, layers: Sequence[ProjectLayer],
              rels: Sequence[ProjectRelation], bounds: Sequence[float], metadata: dict,
              basemap: bool = True, layouts: ET.Element | None = None) -> str:
    """The ``.qgs`` XML of the embedded project.

    ``bounds`` is the WGS84 extent to show on opening; ``metadata`` the
    project metadata (see :func:`resource_metadata`); ``layouts`` the print
    layouts (:func:`geo.qgis_layout.print_layout`).
    """
    root = ET.Element("qgis", {"projectname": title, "version": QGIS_VERSION,
                               "saveUser": "", "saveUserFull": "", "saveDateTime": ""})
    ET.SubElement(root, "homePath", {"path": ""})
    _text(root, "title", title)
    ET.SubElement(root, "autotransaction", {"active": "0"})
    ET.SubElement(root, "evaluateDefaultValues", {"active": "0"})
    ET.SubElement(root, "trust", {"active": "0"})
    spatialrefsys(ET.SubElement(root, "projectCrs"), PROJECT_CRS)
    root.append(layer_tree(layers, gpkg_name, basemap))
    root.append(relations(rels))
    extent = mercator_extent(bounds)
    root.append(map_canvas(extent))
    project_layers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        project_layers.append(_vector_layer(layer, gpkg_name))
    if basemap:
        project_layers.append(_basemap_layer())
    order = ET.SubElement(root, "layerorder")
    for layer in layers:
        ET.SubElement(order, "layer", {"id": layer_id(layer.table)})
    if basemap:
        ET.SubElement(order, "layer", {"id": "openstreetmap_xyz"})
    root.append(map_themes(layers))
    if layouts is not None:
        root.append(layouts)
    root.append(properties())
    root.append(resource_metadata(metadata, tag="projectMetadata"))
    root.append(view_settings(extent))
    ET.indent(root, space=" ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def map_themes(layers: Sequence[ProjectLayer]) -> ET.Element:
    """Map themes (``<visibility-presets>``): one per spatial group of the layer tree
    (each theme, all projects, districts), showing that group's layers with the
    district outlines as context; then one per status any theme layer has
    (:func:`_status_theme`)."""
    root = ET.Element("visibility-presets")
    groups: dict[str, list[ProjectLayer]] = {}
    for layer in layers:
        if layer.geom != "none":
            groups.setdefault(layer.group, []).append(layer)
    context = [lyr for lyr in layers if lyr.table == "districts"]
    for group, members in groups.items():
        preset = ET.SubElement(root, "visibility-preset", {
            "name": group, "has-expanded-info": "1", "has-checked-group-info": "1"})
        shown = members + [c for c in context if c not in members]
        for layer in shown:
            ET.SubElement(preset, "layer", {"id": layer_id(layer.table), "visible": "1",
                                            "style": "default", "expanded": "1"})
        checked = ET.SubElement(preset, "checked-group-nodes")
        for name in dict.fromkeys(lyr.group for lyr in shown):
            ET.SubElement(checked, "checked-group-node", {"id": name})
        ET.SubElement(preset, "expanded-group-nodes")
    for status in resources.statuses():
        _status_theme(root, status, layers, context)
    return root


def status_categories(style: Style) -> list[str]:
    """The status codes of a layer's categorised renderer, in legend order (QGIS 3.22
    keys a categorised layer's legend nodes by this index)."""
    for element in style.elements:
        if element.tag == "renderer-v2" and element.get("attr") == "status":
            return [c.get("value", "") for c in element.iter("category")]
    return []


def _status_theme(root: ET.Element, status: dict, layers: Sequence[ProjectLayer],
                  context: Sequence[ProjectLayer]) -> None:
    """A map theme showing one status: every theme layer that has it, with only that
    status's legend node ticked, and the district outlines (none if no layer has it)."""
    members = [(lyr, status_categories(lyr.style).index(status["code"])) for lyr in layers
               if lyr.source_table and status["code"] in status_categories(lyr.style)]
    if not members:
        return
    preset = ET.SubElement(root, "visibility-preset", {
        "name": f"状态 Status: {status['zh']} {status['en']}", "has-expanded-info": "1",
        "has-checked-group-info": "1"})
    for layer, _ in members:
        ET.SubElement(preset, "layer", {"id": layer_id(layer.table), "visible": "1",
                                        "style": "default", "expanded": "1"})
    for layer in context:
        ET.SubElement(preset, "layer", {"id": layer_id(layer.table), "visible": "1",
                                        "style": "default", "expanded": "1"})
    for layer, index in members:
        nodes = ET.SubElement(preset, "checked-legend-nodes", {"id": layer_id(layer.table)})
        ET.SubElement(nodes, "checked-legend-node", {"id": str(index)})
    checked = ET.SubElement(preset, "checked-group-nodes")
    for name in dict.fromkeys(lyr.group for lyr in [*(m for m, _ in members), *context]):
        ET.SubElement(checked, "checked-group-node", {"id": name})
    ET.SubElement(preset, "expanded-group-nodes")


def build_qgz(qgs: str, name: str) -> bytes:
    """Zip ``qgs`` as ``<name>.qgs`` into deterministic ``.qgz`` bytes (fixed member date)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(f"{name}.qgs", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, qgs.encode("utf-8"))
    return buffer.getvalue()


def rename_sources(qgz: bytes, old_name: str, new_name: str) -> bytes:
    """The project ``qgz`` with its layer sources pointing at ``new_name`` instead of
    ``old_name`` (the GeoPackage's file name): what a renamed copy needs."""
    with zipfile.ZipFile(io.BytesIO(qgz)) as zf:
        (member,) = zf.namelist()
        qgs = zf.read(member).decode("utf-8")
    qgs = qgs.replace(f"./{escape(old_name)}|", f"./{escape(new_name)}|")
    return build_qgz(qgs, member.removesuffix(".qgs"))

