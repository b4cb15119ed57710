# syntax=docker/dockerfile:1
# semcache server image: `docker build -t semcache .`
# Runs `semcache serve` on port 8080 as the non-root user "semcache". The
# embedding model is downloaded on first start into
# /home/semcache/.cache/semcache (mount a volume there to keep it).

# --- build: compile TypeScript, then keep production dependencies only ------
FROM node:20-bookworm AS build
WORKDIR /build
# onnxruntime-node's install script would fetch CUDA binaries; the CPU build
# ships inside the npm package. Native addons (better-sqlite3, usearch) build
# against the headers the node image carries.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dashboard ./dashboard
RUN npm run build && npm run build:dashboard && npm prune --omit=dev

# --- runtime ------------------------------------------------------------------
# Same Debian release as the build stage, so the native addons' glibc matches.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SEMCACHE_HOST=0.0.0.0 \
    SEMCACHE_PORT=8080 \
    SEMCACHE_DATA_DIR=/home/semcache/data \
    SEMCACHE_MODEL_CACHE_DIR=/home/semcache/.cache/semcache/models
# The cache and data directories exist in the image, owned by semcache, so a
# named volume mounted on them starts out writable by that user.
RUN groupadd --system semcache \
 && useradd --system --gid semcache --create-home --home-dir /home/semcache --shell /usr/sbin/nologin semcache \
 && mkdir -p /home/semcache/.cache/semcache /home/semcache/data \
 && chown -R semcache:semcache /home/semcache
WORKDIR /app
COPY --from=build /build/package.json ./package.json
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY --from=build /build/dashboard/dist ./dashboard/dist
USER semcache
EXPOSE 8080
# /healthz answers 200 once the model is loaded and the store is open; the
# first start downloads the model, hence the long start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SEMCACHE_PORT || '8080') + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/main.js", "serve"]
