"""The Data Docs site offline and over http: the scripts and styles its pages load from CDNs are copied into the
site from Python packages (XStatic) and from newsflow's own copy of bootstrap-table (on no Python package index),
and the pages link those copies; `newsflow docs` serves the site on 127.0.0.1.

Every copied file keeps its licence: the minified files keep their licence banners, and LICENSE files go beside them.
"""

import functools
import importlib
import re
import shutil
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR = "static/vendor"  # in the site, beside GX's own static/ folders

# The packages copied into the site (XStatic module, or a folder of ASSETS_DIR), as static/vendor/<name>/.
PACKAGES = {
    "jquery": "xstatic.pkg.jquery",
    "bootstrap": "xstatic.pkg.bootstrap",
    "font-awesome": "xstatic.pkg.font_awesome",
    "bootstrap-datepicker": "xstatic.pkg.bootstrap_datepicker",
    "bootstrap-table": "bootstrap-table-1.19.1",
}
# What GX 1.24's page templates (render/view/templates/*.j2) load, and the local copy each is served from.
LOCAL_COPIES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    # Bootstrap's bundle holds Popper, which GX loads on its own (the Popper link is dropped)
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.bundle.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "font-awesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/bootstrap-datepicker3.standalone.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/bootstrap-datepicker.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
}
# Copied with them: the fonts Font Awesome's styles load, and the licences not written in the files themselves.
WITH_THEM = ("font-awesome/webfonts", "font-awesome/LICENSE.txt", "bootstrap-table/LICENSE")
# Loaded by GX but not needed by newsflow's pages: Vega draws the charts of profiling results (newsflow's suites
# have none), bootstrap-dark a dark theme; neither is on a Python package index.
DROPPED = (
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/",
    "https://cdn.jsdelivr.net/npm/vega",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@",
)
_CDN_TAG = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="(https://[^"]+)"[^>]*>(?:\s*</script>)?')


def copy_assets(site: Path) -> None:
    """The files the pages link, and their licences and fonts, under the site's static/vendor/, copied once."""
    for relative in sorted({*LOCAL_COPIES.values(), *WITH_THEM}):
        target = site / VENDOR / relative
        if not target.exists():
            name, _, inside = relative.partition("/")
            package = ASSETS_DIR / PACKAGES[name]
            source = (package if package.is_dir() else Path(importlib.import_module(PACKAGES[name]).BASE_DIR)) / inside
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if source.is_dir() else shutil.copyfile)(source, target)


def link_local_copies(page: Path, site: Path) -> None:
    """The page's CDN scripts and styles replaced by the site's copies (a relative link, so file:// works too)."""
    up = "../" * (len(page.relative_to(site).parts) - 1)
    html = page.read_text(encoding="utf-8")

    def local(match: re.Match) -> str:
        url = match.group(1)
        if url.startswith(DROPPED):
            return ""
        if url not in LOCAL_COPIES:
            return match.group(0)
        href = f"{up}{VENDOR}/{LOCAL_COPIES[url]}"
        return f'<script src="{href}"></script>' if match.group(0).startswith("<script") else f'<link rel="stylesheet" href="{href}">'

    rewritten = _CDN_TAG.sub(local, html)
    if rewritten != html:
        page.write_text(rewritten, encoding="utf-8")


def make_offline(site: Path, pages: list[Path]) -> None:
    """The site's copies of the assets, and `pages` linking them."""
    copy_assets(site)
    for page in pages:
        link_local_copies(page, site)


def serve(site: Path, port: int) -> None:
    """Serve the site on http://127.0.0.1:port/ until interrupted."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()
