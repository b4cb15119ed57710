// Package semcache is the Go client of semcache, a semantic cache for LLM
// calls.
//
// The client itself is the generated gRPC stub in the semcachev1 package
// (github.com/semcache/semcache/clients/go/semcache/v1):
//
//	conn, err := grpc.Dial("127.0.0.1:8080", grpc.WithTransportCredentials(insecure.NewCredentials()))
//	client := semcachev1.NewSemanticCacheServiceClient(conn)
//	res, err := client.Lookup(ctx, &semcachev1.LookupRequest{Prompt: "What is the capital of France?"})
//
// See README.md and examples/storelookup.
package semcache
