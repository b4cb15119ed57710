/**
 * docker-compose.yml and deploy/envoy.yaml: no Docker engine runs in CI, so
 * the files are checked as data: they parse (Debian's PyYAML, through
 * /usr/bin/python3), and the fleet is wired as README "Running a fleet" says
 * (Redis Stack pinned, semcache scalable and unpublished, Envoy on the one
 * published port, HTTP/2 upstream, round robin, health-checked on /healthz).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** A YAML file as JSON-compatible data (PyYAML's safe loader). */
function loadYaml(path: string): Record<string, unknown> {
  const result = spawnSync("/usr/bin/python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${path} does not parse as YAML:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** A nested value, or a clear failure naming the path. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== "object" || !(step in current)) throw new Error(`missing ${path.join(".")}`);
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

describe("docker-compose.yml: a fleet behind Envoy", () => {
  const compose = loadYaml(`${REPO}/docker-compose.yml`);
  const envoy = loadYaml(`${REPO}/deploy/envoy.yaml`);

  it("pins Redis Stack to a tag, never latest", () => {
    const image = String(at(compose, "services", "redis", "image"));
    expect(image).toMatch(/^redis\/redis-stack-server:\d+\.\d+\.\d+-v\d+$/u);
  });

  it("keeps semcache scalable: no published port, no fixed container name; Envoy publishes the one port", () => {
    const semcache = at(compose, "services", "semcache") as Record<string, unknown>;
    expect(semcache["ports"]).toBeUndefined();
    expect(semcache["container_name"]).toBeUndefined();
    expect(at(semcache, "environment", "SEMCACHE_REDIS_URL")).toBe("redis://redis:6379");
    expect(at(compose, "services", "envoy", "ports")).toEqual(["8080:8080"]);
    const mount = (at(compose, "services", "envoy", "volumes") as string[])[0] ?? "";
    expect(mount.split(":")[0]).toBe("./deploy/envoy.yaml");
    expect(existsSync(`${REPO}/deploy/envoy.yaml`)).toBe(true);
    expect(String(at(compose, "services", "envoy", "image"))).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+$/u);
  });

  it("balances every call round robin over the replicas, over HTTP/2, health-checked on /healthz", () => {
    const listener = at(envoy, "static_resources", "listeners", 0);
    expect(at(listener, "address", "socket_address", "port_value")).toBe(8080);
    const manager = at(listener, "filter_chains", 0, "filters", 0, "typed_config");
    // HTTP/1.1 and h2c from clients on the same port: Connect, gRPC and gRPC-Web.
    expect(at(manager, "codec_type")).toBe("AUTO");
    expect(at(manager, "route_config", "virtual_hosts", 0, "routes", 0, "route", "cluster")).toBe("semcache");

    const cluster = at(envoy, "static_resources", "clusters", 0);
    expect(at(cluster, "name")).toBe("semcache");
    expect(at(cluster, "lb_policy")).toBe("ROUND_ROBIN");
    // Every replica's address from Docker's DNS, re-resolved so `--scale` is seen.
    expect(at(cluster, "type")).toBe("STRICT_DNS");
    expect(at(cluster, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")).toEqual({ address: "semcache", port_value: 8080 });
    const http2 = at(cluster, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "explicit_http_config", "http2_protocol_options");
    expect(http2).toBeTypeOf("object");
    expect(at(cluster, "health_checks", 0, "http_health_check", "path")).toBe("/healthz");
  });
});
