#!/usr/bin/env python3
"""Store an answer in semcache, then look it up again.

With the same prompt (an exact hit) and with a paraphrase (a semantic hit
when the model finds them similar enough).

    /usr/bin/python3 examples/store_lookup.py 127.0.0.1:8080 [NAMESPACE]

With SEMCACHE_API_KEY set, every call sends it as `authorization: Bearer <key>`
(for a server with SEMCACHE_API_KEYS_FILE).
"""

import os
import sys

try:
    import grpc
    import google.protobuf  # noqa: F401  (the generated code needs it)
except ImportError as missing:
    sys.stderr.write(
        f"semcache example: {missing}. Install the gRPC and protobuf runtimes: on Debian/Ubuntu "
        "`apt-get install python3-grpcio python3-protobuf` (then run this with /usr/bin/python3), "
        "elsewhere `pip install grpcio protobuf`.\n"
    )
    sys.exit(2)

try:
    from semcache.v1 import semantic_cache_pb2 as pb
    from semcache.v1 import semantic_cache_pb2_grpc as pb_grpc
except ImportError:  # not installed: use the generated code next to this file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    from semcache.v1 import semantic_cache_pb2 as pb
    from semcache.v1 import semantic_cache_pb2_grpc as pb_grpc


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8080"
    namespace = sys.argv[2] if len(sys.argv) > 2 else "example-python"
    api_key = os.environ.get("SEMCACHE_API_KEY")
    auth = (("authorization", f"Bearer {api_key}"),) if api_key else None

    # semcache speaks cleartext HTTP/2 (h2c) unless it sits behind a TLS
    # proxy; then use grpc.secure_channel(address, grpc.ssl_channel_credentials()).
    with grpc.insecure_channel(address) as channel:
        client = pb_grpc.SemanticCacheServiceStub(channel)
        scope = pb.Scope(namespace=namespace, model="gpt-4o-mini")
        try:
            stored = client.Store(
                pb.StoreRequest(
                    prompt="What is the capital of France?",
                    response="Paris.",
                    scope=scope,
                    metadata={"source": "python-example"},
                ),
                timeout=30,
                metadata=auth,
            )
            print(f"stored id={stored.id} replaced={str(stored.replaced).lower()}")

            for prompt in ("What is the capital of France?", "Tell me the capital city of France."):
                res = client.Lookup(pb.LookupRequest(prompt=prompt, scope=scope), timeout=30, metadata=auth)
                if res.hit:
                    kind = pb.MatchKind.Name(res.kind)
                    print(f"lookup {prompt!r}: hit kind={kind} similarity={res.similarity:.4f} response={res.entry.response!r}")
                else:
                    print(f"lookup {prompt!r}: miss best_similarity={res.similarity:.4f} threshold={res.threshold:.4f}")

            # Errors are gRPC statuses: an empty prompt is INVALID_ARGUMENT.
            try:
                client.Lookup(pb.LookupRequest(prompt="  ", scope=scope), timeout=30, metadata=auth)
                print("empty prompt: unexpectedly accepted", file=sys.stderr)
                return 1
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                print(f"empty prompt: {error.code().name}")

            stats = client.Stats(pb.StatsRequest(namespace=namespace), timeout=30, metadata=auth)
            print(f"stats entries={stats.entries} lookups={stats.lookups} hits={stats.exact_hits + stats.semantic_hits}")
        except grpc.RpcError as error:
            # UNAVAILABLE: the server is still loading its model, or its store
            # is down; retry with backoff. INVALID_ARGUMENT: fix the request.
            print(f"call failed: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
