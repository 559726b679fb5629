#!/usr/bin/env python3
"""Turns the L3S-GN1 news set into the layout `extract_eval` reads, for measurement only.

L3S-GN1 (Kohlschuetter et al., WSDM 2010) holds 621 news pages from 408 sites, crawled in
2008, each with a copy in which people marked the article's full text. It is licensed for
research use, so it stays out of this repository: clone a copy (for example the one in
github.com/geodrome/page-signal) and point this script at its L3S-GN1-* folder.

    python3 bench/extraction/l3s_gn1.py PATH/L3S-GN1-20100130203947-00001 /tmp/gn1

writes /tmp/gn1/{all,dev,test}/ground-truth.json and html/<id>.html.gz. The true body is
the text marked "full text" (class x-nc-sel2), each text node counted once for its nearest
marked ancestor; headlines, captions, related links and comments are not body. `dev` holds
the pages whose id starts with 0-7 (used while developing), `test` the others (scored only).
Needs lxml (`pip install lxml`).
"""
import gzip
import json
import os
import re
import sys

from lxml import html as lxml_html

LABEL = re.compile(r"x-nc-sel(\d)")


def true_body(annotated: bytes) -> str:
    doc = lxml_html.document_fromstring(annotated.decode("utf-8", errors="replace"))
    parts = []
    for text in doc.xpath("//text()"):
        el = text.getparent()
        if text.is_tail:
            el = el.getparent()
        label = None
        while el is not None:
            cls = el.get("class") if hasattr(el, "get") else None
            m = LABEL.search(cls or "")
            if m:
                label = m.group(1)
                break
            el = el.getparent()
        if label == "2" and text.strip():
            parts.append(text.strip())
    return " ".join(parts)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = sys.argv[1], sys.argv[2]
    urls = {}
    with open(os.path.join(src, "url-mapping.txt"), encoding="utf-8") as f:
        for line in f:
            uuid, url = line.rstrip("\n").split("\t", 1)
            urls[uuid.strip("<>").replace("urn:uuid:", "")] = url
    truth = {"all": {}, "dev": {}, "test": {}}
    for name in truth:
        os.makedirs(os.path.join(out, name, "html"), exist_ok=True)
    for fname in sorted(os.listdir(os.path.join(src, "annotated"))):
        page_id = fname[: -len(".html")]
        with open(os.path.join(src, "annotated", fname), "rb") as f:
            body = true_body(f.read())
        with open(os.path.join(src, "original", fname), "rb") as f:
            original = f.read()
        half = "dev" if page_id[0] in "01234567" else "test"
        for name in ("all", half):
            with gzip.open(os.path.join(out, name, "html", page_id + ".html.gz"), "wb") as g:
                g.write(original)
            truth[name][page_id] = {"articleBody": body, "url": urls.get(page_id, "")}
    for name, pages in truth.items():
        with open(os.path.join(out, name, "ground-truth.json"), "w", encoding="utf-8") as f:
            json.dump(pages, f)
        print(f"{name}: {len(pages)} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
