// Command reflectcheck does what grpcurl does, with grpc-go alone: it asks
// semcache's health service, lists the services and downloads their
// descriptors through server reflection (v1alpha, which every grpcurl
// speaks), then calls Store and Lookup with messages built from those
// descriptors alone (dynamicpb + protojson), never from generated code.
//
//	reflectcheck HOST:PORT NAMESPACE
//
// It prints one line per finding, for test/clients/go.test.ts to check.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: reflectcheck HOST:PORT NAMESPACE")
		os.Exit(2)
	}
	addr, namespace := os.Args[1], os.Args[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	check("dial", err)
	defer conn.Close()

	health := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", "semcache.v1.SemanticCacheService"} {
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		check("health check", err)
		fmt.Printf("health %q %s\n", service, res.GetStatus())
	}
	_, err = health.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	fmt.Printf("health %q %s\n", "no.such.Service", status.Code(err))

	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	check("reflection stream", err)
	ask := func(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
		check("reflection send", stream.Send(req))
		res, err := stream.Recv()
		check("reflection recv", err)
		return res
	}

	listed := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
	for _, service := range listed.GetListServicesResponse().GetService() {
		fmt.Printf("service %s\n", service.GetName())
	}

	// Fetch the file declaring the service, then any import not yet sent,
	// the way grpcurl resolves dependencies.
	files := map[string]*descriptorpb.FileDescriptorProto{}
	add := func(res *rpb.ServerReflectionResponse) {
		if e := res.GetErrorResponse(); e != nil {
			fail("reflection", fmt.Errorf("error %d: %s", e.GetErrorCode(), e.GetErrorMessage()))
		}
		for _, raw := range res.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			check("decode descriptor", proto.Unmarshal(raw, fd))
			files[fd.GetName()] = fd
		}
	}
	add(ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "semcache.v1.SemanticCacheService"}}))
	for missing := true; missing; {
		missing = false
		for _, fd := range files {
			for _, dep := range fd.GetDependency() {
				if _, ok := files[dep]; !ok {
					missing = true
					add(ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep}}))
				}
			}
		}
	}
	notFound := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "no.such.Symbol"}})
	fmt.Printf("symbol no.such.Symbol error %d\n", notFound.GetErrorResponse().GetErrorCode())
	check("close reflection stream", stream.CloseSend())

	set := &descriptorpb.FileDescriptorSet{}
	for name, fd := range files {
		fmt.Printf("file %s\n", name)
		set.File = append(set.File, fd)
	}
	registry, err := protodesc.NewFiles(set)
	check("build registry", err)
	desc, err := registry.FindDescriptorByName("semcache.v1.SemanticCacheService")
	check("find service", err)
	service := desc.(protoreflect.ServiceDescriptor)

	call := func(method, body string) string {
		md := service.Methods().ByName(protoreflect.Name(method))
		if md == nil {
			fail(method, fmt.Errorf("no method %s", method))
		}
		req := dynamicpb.NewMessage(md.Input())
		check(method+" request", protojson.Unmarshal([]byte(body), req))
		res := dynamicpb.NewMessage(md.Output())
		check(method, conn.Invoke(ctx, fmt.Sprintf("/%s/%s", service.FullName(), md.Name()), req, res))
		out, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(res)
		check(method+" response", err)
		return string(out)
	}
	scope := fmt.Sprintf(`{"namespace": %q, "model": "reflect"}`, namespace)
	fmt.Printf("store %s\n", call("Store", fmt.Sprintf(`{"prompt": "What is the capital of Italy?", "response": "Rome.", "scope": %s}`, scope)))
	fmt.Printf("lookup %s\n", call("Lookup", fmt.Sprintf(`{"prompt": "What is the capital of Italy?", "scope": %s}`, scope)))
}

func check(what string, err error) {
	if err != nil {
		fail(what, err)
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}
