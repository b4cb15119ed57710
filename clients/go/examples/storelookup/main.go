// Command storelookup stores an answer in semcache, then looks it up again:
// with the same prompt (an exact hit) and with a paraphrase (a semantic hit
// when the model finds them similar enough).
//
//	go run ./examples/storelookup 127.0.0.1:8080
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	semcachev1 "github.com/semcache/semcache/clients/go/semcache/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func main() {
	namespace := flag.String("namespace", "example-go", "the namespace to store in")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: storelookup [-namespace NS] [HOST:PORT]  (default 127.0.0.1:8080)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	addr := "127.0.0.1:8080"
	if flag.NArg() > 0 {
		addr = flag.Arg(0)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// semcache speaks cleartext HTTP/2 (h2c) unless it sits behind a TLS
	// proxy; then use grpc.WithTransportCredentials(credentials.NewTLS(nil)).
	// (grpc-go >= 1.34 also has insecure.NewCredentials() for this.)
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fail("connect", err)
	}
	defer conn.Close()
	client := semcachev1.NewSemanticCacheServiceClient(conn)

	scope := &semcachev1.Scope{Namespace: *namespace, Model: "gpt-4o-mini"}
	stored, err := client.Store(ctx, &semcachev1.StoreRequest{
		Prompt:   "What is the capital of France?",
		Response: "Paris.",
		Scope:    scope,
		Metadata: map[string]string{"source": "go-example"},
	})
	if err != nil {
		fail("Store", err)
	}
	fmt.Printf("stored id=%s replaced=%t\n", stored.GetId(), stored.GetReplaced())

	for _, prompt := range []string{"What is the capital of France?", "Tell me the capital city of France."} {
		res, err := client.Lookup(ctx, &semcachev1.LookupRequest{Prompt: prompt, Scope: scope})
		if err != nil {
			fail("Lookup", err)
		}
		if res.GetHit() {
			fmt.Printf("lookup %q: hit kind=%s similarity=%.4f response=%q\n", prompt, res.GetKind(), res.GetSimilarity(), res.GetEntry().GetResponse())
		} else {
			fmt.Printf("lookup %q: miss best_similarity=%.4f threshold=%.4f\n", prompt, res.GetSimilarity(), res.GetThreshold())
		}
	}

	// Errors are gRPC statuses: an empty prompt is INVALID_ARGUMENT.
	_, err = client.Lookup(ctx, &semcachev1.LookupRequest{Prompt: "  ", Scope: scope})
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
		fmt.Printf("empty prompt: %s\n", st.Code())
	} else {
		fail("Lookup of an empty prompt", fmt.Errorf("expected InvalidArgument, got %v", err))
	}

	ns := *namespace
	stats, err := client.Stats(ctx, &semcachev1.StatsRequest{Namespace: &ns})
	if err != nil {
		fail("Stats", err)
	}
	fmt.Printf("stats entries=%d lookups=%d hits=%d\n", stats.GetEntries(), stats.GetLookups(), stats.GetExactHits()+stats.GetSemanticHits())
}

// fail prints the call's gRPC status code and message, and exits 1.
// UNAVAILABLE means the server is still loading its model or its store is
// down: retry with backoff. INVALID_ARGUMENT means the request is wrong.
func fail(what string, err error) {
	st := status.Convert(err)
	fmt.Fprintf(os.Stderr, "%s failed: %s: %s\n", what, st.Code(), st.Message())
	os.Exit(1)
}
