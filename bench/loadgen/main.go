// Command loadgen drives semcache's Lookup from many goroutines over one
// gRPC connection, for the throughput benchmark (bench/throughput.ts).
//
// Why Go and not the benchmark's own Node client: the benchmark compares the
// server with onnxruntime running alone, on a machine whose few cores the
// client shares. A Node gRPC client spends about as much CPU per call as the
// server's event loop does, CPU the comparison then charges to the server;
// grpc-go spends a fraction of it, as a client on another machine would
// spend none.
//
// It reads commands from stdin, one JSON object per line, and answers each
// with one JSON line on stdout:
//
//	{"concurrency": 64, "seconds": 4, "from": 0}
//	→ {"latenciesMs": [...], "hits": 1203, "errors": 0, "seconds": 4.01, "cpuMs": 310.5, "promptsTaken": 1331}
//
// A run takes prompts in turn from the queries file, starting at index
// `from`: first 2×concurrency lookups at that concurrency to warm up (not
// counted), then it keeps `concurrency` lookups in flight for `seconds`.
// `promptsTaken` (2×concurrency + the lookups counted) is where the next run
// should start after `from`, so that no prompt comes back early.
//
//	loadgen -queries queries.json -namespace bench 127.0.0.1:8080
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	semcachev1 "github.com/semcache/semcache/clients/go/semcache/v1"
	"google.golang.org/grpc"
)

type command struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	From        int64   `json:"from"`
}

type result struct {
	LatenciesMs []float64 `json:"latenciesMs"`
	Hits        int64     `json:"hits"`
	Errors      int64     `json:"errors"`
	Seconds     float64   `json:"seconds"`
	// CPU this process used during the measured part (user + system).
	CPUMs float64 `json:"cpuMs"`
	// Prompts taken from the queries, the warm-up's included.
	PromptsTaken int64 `json:"promptsTaken"`
}

func main() {
	queriesPath := flag.String("queries", "", "a JSON array of prompts")
	namespace := flag.String("namespace", "bench", "the scope's namespace")
	flag.Parse()
	if flag.NArg() != 1 || *queriesPath == "" {
		fmt.Fprintln(os.Stderr, "usage: loadgen -queries FILE [-namespace NS] HOST:PORT")
		os.Exit(2)
	}
	raw, err := os.ReadFile(*queriesPath)
	check("read the queries", err)
	var queries []string
	check("parse the queries", json.Unmarshal(raw, &queries))
	if len(queries) == 0 {
		check("queries", fmt.Errorf("the file holds no prompts"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	conn, err := grpc.DialContext(ctx, flag.Arg(0), grpc.WithInsecure(), grpc.WithBlock())
	cancel()
	check("connect", err)
	defer conn.Close()
	client := semcachev1.NewSemanticCacheServiceClient(conn)
	scope := &semcachev1.Scope{Namespace: *namespace}

	lines := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for lines.Scan() {
		var c command
		check("parse a command", json.Unmarshal(lines.Bytes(), &c))
		if c.Concurrency < 1 || c.Seconds <= 0 {
			check("command", fmt.Errorf("concurrency must be ≥ 1 and seconds > 0: %s", lines.Text()))
		}
		check("write a result", out.Encode(measure(client, scope, queries, c)))
	}
	check("read stdin", lines.Err())
}

func measure(client semcachev1.SemanticCacheServiceClient, scope *semcachev1.Scope, queries []string, c command) result {
	lookup := func(prompt string) (bool, error) {
		r, err := client.Lookup(context.Background(), &semcachev1.LookupRequest{Prompt: prompt, Scope: scope})
		return err == nil && r.GetHit(), err
	}
	// Warm-up, not measured: the server plans batches of this size before the clock starts.
	var warm sync.WaitGroup
	var nextWarm int64 = -1
	for w := 0; w < c.Concurrency; w++ {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for i := atomic.AddInt64(&nextWarm, 1); i < int64(2*c.Concurrency); i = atomic.AddInt64(&nextWarm, 1) {
				_, _ = lookup(queries[(c.From+i)%int64(len(queries))])
			}
		}()
	}
	warm.Wait()

	var hits, errors int64
	next := c.From + int64(2*c.Concurrency) - 1
	perWorker := make([][]float64, c.Concurrency)
	cpu0 := cpuMs()
	started := time.Now()
	deadline := started.Add(time.Duration(c.Seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				prompt := queries[atomic.AddInt64(&next, 1)%int64(len(queries))]
				t := time.Now()
				hit, err := lookup(prompt)
				perWorker[w] = append(perWorker[w], float64(time.Since(t).Nanoseconds())/1e6)
				if err != nil {
					atomic.AddInt64(&errors, 1)
				} else if hit {
					atomic.AddInt64(&hits, 1)
				}
			}
		}(w)
	}
	wg.Wait()
	r := result{Hits: hits, Errors: errors, Seconds: time.Since(started).Seconds(), CPUMs: cpuMs() - cpu0, LatenciesMs: []float64{}, PromptsTaken: next + 1 - c.From}
	for _, l := range perWorker {
		r.LatenciesMs = append(r.LatenciesMs, l...)
	}
	return r
}

func cpuMs() float64 {
	var u syscall.Rusage
	check("getrusage", syscall.Getrusage(syscall.RUSAGE_SELF, &u))
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e6
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", what, err)
		os.Exit(1)
	}
}
