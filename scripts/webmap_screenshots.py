"""Screenshots of the built Ningbo map for docs/: phone, embed in an article, English.

Run from the repository root after `geo build`:
    python scripts/webmap_screenshots.py
Tiles are replaced by a flat land-coloured tile (the screenshots are taken
offline), so the pictures show the map's own drawing, not the base map.
"""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "http://geomap.test/"
#: a 1x1 PNG in OpenStreetMap's land colour (#f2efe9)
TILE = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP49P4lAAWhAstl"
                        "7N0JAAAAAElFTkSuQmCC")
HOST = ('<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1"><style>body{margin:0;font:16px/1.6 '
        'sans-serif}p{margin:12px}</style></head><body><p>新闻正文：宁波市政府工作报告提出的'
        '重大项目，在地图上看。</p><iframe src="embed.html" width="100%" height="480" '
        'style="border:0" title="map"></iframe><p>正文继续……</p></body></html>')


def main() -> None:
    pages = {"map.html": (ROOT / "maps" / "ningbo_2024.html").read_bytes(),
             "embed.html": (ROOT / "maps" / "ningbo_2024_embed.html").read_bytes(),
             "host.html": HOST.encode()}

    def route(r) -> None:
        name = r.request.url[len(ORIGIN):] if r.request.url.startswith(ORIGIN) else ""
        if name in pages:
            r.fulfill(body=pages[name], content_type="text/html; charset=utf-8")
        elif r.request.resource_type == "image":
            r.fulfill(body=TILE, content_type="image/png")
        else:
            r.abort()

    docs = ROOT / "docs"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--headless"])
        phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                    is_mobile=True, device_scale_factor=1,
                                    reduced_motion="reduce")
        phone.route("**/*", route)
        page = phone.new_page()
        page.goto(ORIGIN + "map.html")
        page.wait_for_function("() => window.__geoList === true")
        page.evaluate("GEOMAP.showPopup(Object.keys(GEOMAP.featureIds())[0])")
        page.wait_for_timeout(400)
        page.screenshot(path=str(docs / "phone.png"))
        page.evaluate("GEOMAP.setLang('en')")
        page.evaluate("GEOMAP.showPopup(Object.keys(GEOMAP.featureIds())[3])")
        page.wait_for_timeout(400)
        page.screenshot(path=str(docs / "english.png"))
        phone.close()
        desk = browser.new_context(viewport={"width": 720, "height": 640},
                                   reduced_motion="reduce")
        desk.route("**/*", route)
        page = desk.new_page()
        page.goto(ORIGIN + "host.html")
        inner = page.frames[1]
        inner.wait_for_function("() => window.__geoList === true")
        page.mouse.move(360, 300)
        page.mouse.wheel(0, 40)
        page.wait_for_timeout(300)
        page.screenshot(path=str(docs / "embed.png"))
        browser.close()


if __name__ == "__main__":
    main()
