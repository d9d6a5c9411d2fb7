"""geo: turn a Chinese city's government work report into a map of its projects.

Pipeline stages, one module each::

    report    read & parse the report into parts, sections, paragraphs, sentences
    extract   find project mentions, their kind and status
    resolve   group mentions into projects with stable ids
    geocode   locate projects from the gazetteer, county fallback, candidates
    districts county boundaries, assignment of projects, summaries
    checks    geometry checks every located project must pass
    layers    write the GeoPackage (styles, relations, QGIS project)
    webmap    render the self-contained Folium map
    pipeline  run them all for one build (cli is a thin shell over it)

Support: schema (table columns), settings, errors, io (atomic writes),
names (name keys, fuzzy matching), gazetteer (loader/validator), coords
(GCJ-02/BD-09), online (the only module touching the network: osmnx),
parallel (forked worker), evaluate (scores against gold annotations).
"""

__version__ = "0.1.0"
