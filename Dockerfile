# llm-extproc container image: the ext_proc gRPC service (1063) and its admin HTTP server (1064).
# TypeScript runs through tsx, a runtime dependency, so there is no build step.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY proto ./proto
COPY src ./src
COPY config ./config
# /sockets: where a shared volume with Envoy holds the gRPC Unix socket (docker-compose.yml, Kubernetes sidecar).
RUN mkdir -p /sockets && chown node:node /sockets
USER node
EXPOSE 1063 1064
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:1064/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["serve", "--config", "/app/config/default.yaml", "--listen", "0.0.0.0:1063", "--admin", "0.0.0.0:1064"]
