# syntax=docker/dockerfile:1.7
# medfed node agent image (runs at each hospital). Build from the repository root:
#   docker buildx build -f deploy/docker/agent.Dockerfile -t REGISTRY/medfed/agent:VERSION .
# Includes bubblewrap, which the agent uses to sandbox training; see docs/deploy.md for the
# seccomp profile the pod needs for it.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY gate/package.json gate/
COPY coordinator/package.json coordinator/
COPY node-agent/package.json node-agent/
COPY cli/package.json cli/
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

FROM ${NODE_IMAGE} AS runtime
# bubblewrap runs unprivileged (no setuid bit): it relies on user namespaces instead.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && chmod u-s /usr/bin/bwrap \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* \
 && groupadd --system --gid 10001 medfed \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin medfed \
 && mkdir -p /var/lib/medfed-agent /data && chown 10001:10001 /var/lib/medfed-agent
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules/
COPY --from=build /src/proto proto/
COPY --from=build /src/gate gate/
COPY --from=build /src/coordinator coordinator/
COPY --from=build /src/node-agent node-agent/
COPY --from=build /src/cli cli/
ENV NODE_ENV=production \
    MEDFED_ENV=production \
    MEDFED_STATE_DIR=/var/lib/medfed-agent
USER 10001:10001
ENTRYPOINT ["node", "/app/cli/dist/main.js"]
CMD ["agent", "start"]
