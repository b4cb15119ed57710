import { create, fromBinary, toBinary, type DescFile, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema as RequestV1Schema,
  ServerReflectionResponseSchema as ResponseV1Schema,
  type ServerReflectionRequest as RequestV1,
  type ServerReflectionResponse as ResponseV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1Alpha,
  ServerReflectionRequestSchema as RequestV1AlphaSchema,
  ServerReflectionResponseSchema as ResponseV1AlphaSchema,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { DescriptorIndex } from "./descriptor-index.js";

/** Where the reflection service learns which services the server offers. */
export type ServiceList = () => Iterable<DescService>;

/**
 * The services registered on a router, read when a reflection stream asks
 * (so services registered after reflection itself are included).
 */
export function routerServices(router: ConnectRouter): ServiceList {
  return () => router.handlers.map((handler) => handler.service);
}

/**
 * Answers one reflection request. `sent` holds the files this stream has
 * already sent, which later answers leave out (as the protocol allows).
 */
export function answerReflectionRequest(index: DescriptorIndex, request: RequestV1, sent: Set<string>): ResponseV1 {
  const answer = (response: MessageInitShape<typeof ResponseV1Schema>["messageResponse"]): ResponseV1 =>
    create(ResponseV1Schema, { validHost: request.host, originalRequest: request, messageResponse: response });
  const error = (code: Code, message: string): ResponseV1 =>
    answer({ case: "errorResponse", value: { errorCode: code, errorMessage: message } });
  const files = (file: DescFile): ResponseV1 =>
    answer({ case: "fileDescriptorResponse", value: { fileDescriptorProto: index.encodeWithDependencies(file, sent) } });

  const { case: kind, value } = request.messageRequest;
  switch (kind) {
    case "listServices":
      return answer({ case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } });
    case "fileByFilename": {
      const file = index.fileByName(value);
      return file === undefined ? error(Code.NotFound, `file not found: ${value}`) : files(file);
    }
    case "fileContainingSymbol": {
      const file = index.fileContainingSymbol(value);
      return file === undefined ? error(Code.NotFound, `symbol not found: ${value}`) : files(file);
    }
    case "fileContainingExtension": {
      const file = index.fileContainingExtension(value.containingType, value.extensionNumber);
      return file === undefined
        ? error(Code.NotFound, `extension not found: ${value.containingType} field ${value.extensionNumber}`)
        : files(file);
    }
    case "allExtensionNumbersOfType":
      return index.hasMessage(value)
        ? answer({ case: "allExtensionNumbersResponse", value: { baseTypeName: value, extensionNumber: index.extensionNumbers(value) } })
        : error(Code.NotFound, `type not found: ${value}`);
    case undefined:
      return error(Code.InvalidArgument, "the request sets none of the message_request fields");
  }
}

/** Builds descriptor indexes on demand, rebuilding only if the list of services changed. */
function indexCache(services: ServiceList): () => DescriptorIndex {
  let cached: { key: string; index: DescriptorIndex } | undefined;
  return () => {
    const list = [...services()];
    const key = list.map((service) => service.typeName).join(",");
    if (cached?.key !== key) cached = { key, index: new DescriptorIndex(list) };
    return cached.index;
  };
}

/**
 * Registers gRPC server reflection, `grpc.reflection.v1.ServerReflection`
 * and the older `grpc.reflection.v1alpha.ServerReflection`, answering from
 * the descriptors of the services on `router` (or of `services`).
 */
export function registerReflectionService(router: ConnectRouter, services: ServiceList = routerServices(router)): void {
  const index = indexCache(services);
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) yield answerReflectionRequest(index(), request, sent);
    },
  });
  // v1alpha is wire-identical to v1: convert through the binary form.
  router.service(ServerReflectionV1Alpha, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const v1 = fromBinary(RequestV1Schema, toBinary(RequestV1AlphaSchema, request));
        const response = answerReflectionRequest(index(), v1, sent);
        yield fromBinary(ResponseV1AlphaSchema, toBinary(ResponseV1Schema, response));
      }
    },
  });
}
