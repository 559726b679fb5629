"""A small sectorwire client in Python: ingest, read your own write, search,
ask how two countries relate, and watch new articles.

Stubs are generated from the repository's proto/ on first run (needs
`pip install grpcio-tools`), so this file is all you need to copy besides
the .proto files:

    python3 examples/python/sectorwire_client.py examples/*.txt

Addresses default to the ones `sectorwire up` listens on.
"""

import argparse
import importlib
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "proto")
# Where the generated modules go: beside this file unless
# SECTORWIRE_STUBS_DIR names another directory (a test's scratch space).
GEN_DIR = os.environ.get("SECTORWIRE_STUBS_DIR") or os.path.join(HERE, "generated")


def load_stubs():
    """Generates the Python modules for the three proto packages (once)."""
    from grpc_tools import protoc
    import grpc_tools

    files = [
        "sectorwire/article/v1/article.proto",
        "sectorwire/ingest/v1/ingest.proto",
        "sectorwire/query/v1/query.proto",
    ]
    marker = os.path.join(GEN_DIR, "sectorwire", "query", "v1", "query_pb2_grpc.py")
    if not os.path.exists(marker):
        os.makedirs(GEN_DIR, exist_ok=True)
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        code = protoc.main(
            ["protoc", f"-I{PROTO_DIR}", f"-I{well_known}",
             f"--python_out={GEN_DIR}", f"--grpc_python_out={GEN_DIR}"] + files
        )
        if code != 0:
            sys.exit(f"protoc failed with status {code}")
    sys.path.insert(0, GEN_DIR)
    names = ["sectorwire.ingest.v1.ingest_pb2", "sectorwire.ingest.v1.ingest_pb2_grpc",
             "sectorwire.query.v1.query_pb2", "sectorwire.query.v1.query_pb2_grpc"]
    return [importlib.import_module(n) for n in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="article files (.txt or .html)")
    parser.add_argument("--ingest-addr", default=os.environ.get("SECTORWIRE_INGEST_ADDR", "127.0.0.1:50051"))
    parser.add_argument("--query-addr", default=os.environ.get("SECTORWIRE_QUERY_ADDR", "127.0.0.1:50052"))
    parser.add_argument("--search", default="energy", help="full-text query")
    parser.add_argument("--pair", nargs=2, default=["AZ", "PK"], metavar=("A", "B"))
    args = parser.parse_args()

    import grpc

    ingest_pb2, ingest_grpc, query_pb2, query_grpc = load_stubs()
    strip = lambda a: a.split("://", 1)[-1]
    ingest = ingest_grpc.IngestServiceStub(grpc.insecure_channel(strip(args.ingest_addr)))
    query = query_grpc.QueryServiceStub(grpc.insecure_channel(strip(args.query_addr)))

    # Watch from the current position; articles ingested below arrive here.
    position = query.GetQueryStats(query_pb2.GetQueryStatsRequest(), timeout=10).applied_sequence
    watched = []
    watch = query.WatchArticles(query_pb2.WatchArticlesRequest(after_sequence=position), timeout=30)

    def follow():
        try:
            for item in watch:
                watched.append(item.article.id)
        except grpc.RpcError:
            pass  # cancelled below

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()

    # Ingest: the acknowledgement means the article is on disk.
    last = 0
    ids = []
    for path in args.files:
        with open(path, "rb") as f:
            content = f.read()
        kind = ingest_pb2.CONTENT_TYPE_HTML if path.endswith((".html", ".htm")) else ingest_pb2.CONTENT_TYPE_TEXT
        ack = ingest.IngestArticle(ingest_pb2.IngestArticleRequest(content=content, content_type=kind), timeout=30)
        outcome = ingest_pb2.IngestOutcome.Name(ack.outcome).removeprefix("INGEST_OUTCOME_").lower()
        print(f"ingested {path}: id {ack.id}, sequence {ack.sequence}, {outcome}")
        ids.append(ack.id)
        last = max(last, ack.sequence)

    # Read your own write: the replica waits until it has applied `last`.
    fresh = query_pb2.Consistency(min_sequence=last)
    article = query.GetArticle(query_pb2.GetArticleRequest(id=ids[0], consistency=fresh), timeout=10).article
    sectors = ", ".join(f"{t.sector} {t.score:.2f}" for t in article.sectors)
    print(f"get {article.id}: {article.title!r} [{sectors}]")

    hits = query.SearchArticles(
        query_pb2.SearchArticlesRequest(query=args.search, page_size=3, consistency=fresh,
                                        view=query_pb2.ARTICLE_VIEW_BASIC), timeout=10)
    print(f"search {args.search!r}: {hits.total_hits} hits")
    for hit in hits.hits:
        print(f"  {hit.score:5.2f}  {hit.article.title}")

    pair = query.GetCountryPair(
        query_pb2.GetCountryPairRequest(country_a=args.pair[0], country_b=args.pair[1], consistency=fresh),
        timeout=10)
    print(f"pair {pair.a}-{pair.b}: {pair.article_count} articles")
    for sector in pair.sectors:
        print(f"  {sector.sector:<12} weight {sector.weight:.2f}, {sector.article_count} articles")

    # Every ingested article has been applied, so the watch has seen the new ones.
    for _ in range(50):
        if all(i in watched for i in ids) or not watcher.is_alive():
            break
        threading.Event().wait(0.1)
    watch.cancel()
    print(f"watch: {len(set(watched) & set(ids))} of {len(set(ids))} new articles seen")


if __name__ == "__main__":
    main()
