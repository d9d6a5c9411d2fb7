"""geo: turn a Chinese city's government work report into a map of its projects.

Pipeline stages, one module each::

    report    read & parse the report into parts, sections, paragraphs, sentences
    extract   find project mentions, their kind and status
    resolve   group mentions into projects with stable ids
    geocode   locate projects from the gazetteer (and, online, OpenStreetMap)
    districts county boundaries, assignment of projects, summaries
    layers    write the GeoPackage (styles, relations, QGIS project)
    webmap    render the self-contained Folium map
    pipeline  run them all for one build
"""

__version__ = "0.1.0"
