# syntax=docker/dockerfile:1
# One image for the three services and the migration step; the command picks which one runs:
#   node services/api/dist/main.js          (HTTP api, port 8081)
#   node services/ingestor/dist/main.js     (Kafka → Postgres, ops port 8082)
#   node services/aggregator/dist/main.js   (Kafka → Redis, ops port 8083)
#   node infra/scripts/migrate.js           (one-shot: apply infra/migrations)

# ---------------------------------------------------------------------------------------------- build
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Manifests first so the dependency layer is cached until a package.json or the lockfile changes.
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/core/package.json libs/core/
COPY libs/platform/package.json libs/platform/
COPY libs/testkit/package.json libs/testkit/
COPY libs/sdk/package.json libs/sdk/
COPY services/api/package.json services/api/
COPY services/ingestor/package.json services/ingestor/
COPY services/aggregator/package.json services/aggregator/
COPY services/console/package.json services/console/
RUN npm ci --no-audit --no-fund

COPY tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY services services
COPY infra/migrations infra/migrations
COPY infra/scripts infra/scripts
RUN npm run build

# Runtime tree: production dependencies only, compiled output without tests, sources and build info.
# (Source maps stay: --enable-source-maps turns stack traces back into TypeScript positions.)
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf libs/*/src services/*/src \
 && find libs services -path '*/dist/*' \
      \( -name "*.test.*" -o -name .tsbuildinfo \) -delete

# -------------------------------------------------------------------------------------------- runtime
FROM node:20-bookworm-slim AS runtime

# curl for container health checks (compose: `curl -f http://localhost:8081/api/health`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app

# Owned by root, read-only for the `node` user: the running service cannot rewrite its own code.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/services ./services
COPY --from=build /app/infra ./infra
# The api's report spool (REPORT_SPOOL_DIR in compose): the one path the service writes, owned by `node`, so a
# named volume mounted here starts with that owner.
RUN mkdir -p /var/lib/apg/report-spool && chown node:node /var/lib/apg/report-spool

USER node
EXPOSE 8081 8082 8083
CMD ["node", "services/api/dist/main.js"]
