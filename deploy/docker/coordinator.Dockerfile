# syntax=docker/dockerfile:1.7
# medfed coordinator image. Build from the repository root:
#   docker buildx build -f deploy/docker/coordinator.Dockerfile -t REGISTRY/medfed/coordinator:VERSION .
# The base image is pinned by digest; CI refreshes the pin (docs/deploy.md, "Advisory watch").
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# ---- build: install with dev dependencies, compile, then drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY gate/package.json gate/
COPY coordinator/package.json coordinator/
COPY node-agent/package.json node-agent/
COPY cli/package.json cli/
# No lifecycle scripts: nothing from the registry runs at build time.
RUN npm ci --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY proto/ proto/
COPY gate/ gate/
COPY coordinator/ coordinator/
COPY node-agent/ node-agent/
COPY cli/ cli/
RUN node_modules/.bin/tsc --build \
 && npm prune --omit=dev --ignore-scripts \
 && rm -rf proto/test gate/test coordinator/test node-agent/test cli/test \
 && find . -name '*.tsbuildinfo' -delete

# ---- runtime: no npm, no compiler, no shell history, root-owned read-only files ----
FROM ${NODE_IMAGE} AS runtime
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* \
 && groupadd --system --gid 10001 medfed \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin medfed \
 && mkdir -p /var/lib/medfed && chown 10001:10001 /var/lib/medfed
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules/
COPY --from=build /src/proto proto/
COPY --from=build /src/gate gate/
COPY --from=build /src/coordinator coordinator/
COPY --from=build /src/node-agent node-agent/
COPY --from=build /src/cli cli/
COPY deploy/probes/grpc-health-probe.mjs probes/
ENV NODE_ENV=production \
    MEDFED_ENV=production \
    MEDFED_DATA_DIR=/var/lib/medfed \
    MEDFED_REST_HOST=0.0.0.0 \
    MEDFED_REST_PORT=8443 \
    MEDFED_GRPC_HOST=0.0.0.0 \
    MEDFED_GRPC_PORT=9443
USER 10001:10001
EXPOSE 8443 9443
ENTRYPOINT ["node", "/app/cli/dist/main.js"]
CMD ["coordinator", "start"]
