# llm-extproc container image: the ext_proc gRPC service (1063) and its admin HTTP server (1064).
# The image runs the compiled JavaScript in dist/; no TypeScript compiler runs at run time.

# Build: every dependency, then `npm ci` runs the prepare script (tsc -> dist/, bundled into dist/bundle/).
FROM node:22.22.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN npm ci --no-audit --no-fund

# Production dependencies only.
FROM node:22.22.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:22.22.0-bookworm-slim
# The container runs as the non-root `node` user (uid 1000) on a read-only root filesystem: logs go to stdout and
# the Unix socket to the /sockets volume.
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY config ./config
# /sockets: where a shared volume with Envoy holds the gRPC Unix socket (docker-compose.yml, Kubernetes sidecar).
RUN mkdir -p /sockets && chown node:node /sockets
USER node
EXPOSE 1063 1064
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:1064/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/bundle/main.js"]
CMD ["serve", "--config", "/app/config/default.yaml", "--listen", "0.0.0.0:1063", "--admin", "0.0.0.0:1064"]
