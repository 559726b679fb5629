#!/usr/bin/env python3
"""Runs the extractors sectorwire is compared with over a benchmark folder (the layout
`extract_eval` reads) and writes their bodies for `extract_eval --predictions`.

    pip install trafilatura readability-lxml lxml_html_clean
    python3 bench/extraction/others.py BENCH OUT
    cargo run --release -p sectorwire-bench --bin extract_eval -- BENCH --predictions OUT/trafilatura

Each extractor gets the raw bytes and, where it takes one, the page URL (trafilatura without
comments, its better setting on these pages); a page it fails
on gets an empty body, which scores 0 as a refusal would.
"""
import gzip
import json
import os
import sys

import lxml.html
import trafilatura
from readability import Document


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    bench, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(bench, "ground-truth.json"), encoding="utf-8") as f:
        pages = json.load(f)
    for name in ("trafilatura", "readability"):
        os.makedirs(os.path.join(out, name), exist_ok=True)
    for page_id, page in pages.items():
        with gzip.open(os.path.join(bench, "html", page_id + ".html.gz")) as g:
            raw = g.read()
        try:
            text = trafilatura.extract(
                raw, url=page.get("url") or None, include_comments=False, include_tables=True
            ) or ""
        except Exception:  # an extractor's failure is its empty body
            text = ""
        with open(os.path.join(out, "trafilatura", page_id + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)
        try:
            summary = Document(raw).summary(html_partial=True)
            text = lxml.html.fromstring(summary).text_content() if summary.strip() else ""
        except Exception:
            text = ""
        with open(os.path.join(out, "readability", page_id + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
