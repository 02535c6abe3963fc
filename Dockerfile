# syntax=docker/dockerfile:1
#
# modelgate on Kong: the official Kong 3.x image plus the modelgate plugin
# server, the modelgate-sidecar, ONNX Runtime 1.29.0 and the example model
# repository. `make image` / `make image-gpu` wrap these builds:
#
#   docker build -t modelgate .                                    Kong + plugin (default target)
#   docker build --target sidecar -t modelgate-sidecar .           the sidecar on its own (attach mode)
#   docker build --build-arg VARIANT=gpu -t modelgate:gpu .        CUDA execution provider (x86-64)
#
# The image's default config is the production one, deploy/kong/kong.yml
# (attach mode over /run/modelgate/sidecar.sock, quotas in Redis, secrets
# from /etc/modelgate/secrets, no DEMO credential), as deploy/docker-compose.yml
# and deploy/k8s run it. The root kong.yml (the plugin server launches the
# sidecar; the public DEMO credentials) runs on a laptop only:
#   docker run -e KONG_DECLARATIVE_CONFIG=/opt/modelgate/kong.yml -e MODELGATE_DEMO=1 -p 8000:8000 modelgate

# Every base image is pinned. The Go stage is Debian bookworm (glibc 2.36) on
# purpose: the binaries are cgo and must run on Kong's Ubuntu 24.04 (glibc 2.39);
# a newer Debian would link against symbols Ubuntu 24.04 lacks.
ARG KONG_IMAGE=kong:3.9.3-ubuntu
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04
# VARIANT=cpu|gpu picks the ONNX Runtime build and whether CUDA's libraries come along.
ARG VARIANT=cpu
# The official image's `kong` user (created by Kong's package: uid 1001 on
# Ubuntu 24.04, where uid 1000 is `ubuntu`). Kubernetes' runAsNonRoot needs a
# numeric USER, so the image states it, and the build fails if it is wrong.
ARG KONG_UID=1001

# ---------------------------------------------------------------- binaries
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY shared/ shared/
COPY internal/ internal/
COPY kong-plugin/ kong-plugin/
COPY sidecar/ sidecar/
# cgo on: onnxruntime_go loads the ONNX Runtime library through cgo.
ENV CGO_ENABLED=1
# The build has no .git: `make image` passes the commit (empty: the binaries say "unknown").
ARG GIT_COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags="-s -w -X github.com/modelgate/modelgate/internal/version.Commit=${GIT_COMMIT}" -o /out/modelgate ./kong-plugin/cmd/modelgate \
 && go build -trimpath -buildvcs=false -ldflags="-s -w -X github.com/modelgate/modelgate/internal/version.Commit=${GIT_COMMIT}" -o /out/modelgate-sidecar ./sidecar/cmd/modelgate-sidecar

# ---------------------------------------------------------------- ONNX Runtime
# deploy/ort/fetch.sh, the script `make ort` uses: `npm pack` (no install
# scripts run), the tarball checked against a pinned dist.integrity, only the
# named files unpacked. The pins match the Makefile's and ../shared/GPU.md's.
FROM ${NODE_IMAGE} AS ort-fetch
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/ort/fetch.sh /usr/local/bin/ort-fetch
WORKDIR /tmp

FROM ort-fetch AS ort-cpu
ARG ORT_PACKAGE=onnxruntime-node@1.29.0
ARG ORT_INTEGRITY=sha512-WjiVVB72riILz8HbYvxvmjKyE/WmkYoSfKY++axo5jAR609HQg8MwiG/HhShpTcJfmmAdzxxmB+MMST3A+SiPA==
ARG TARGETARCH
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in amd64) arch=x64 ;; arm64) arch=arm64 ;; \
      *) echo "no ONNX Runtime build for ${TARGETARCH}" >&2; exit 1 ;; esac; \
    ort-fetch "$ORT_PACKAGE" "$ORT_INTEGRITY" /out "bin/napi-v6/linux/$arch/libonnxruntime.so.1"

# GPU: the core library built with the provider bridge, and the CUDA
# execution provider. ONNX Runtime looks for the provider libraries beside
# libonnxruntime itself, so all of them land in one folder. No TensorRT
# provider: it needs TensorRT's own libraries (libnvinfer, libnvonnxparser),
# which neither Debian nor npm carries, so in this image it could only fail
# and fall back; a model listing `tensorrt` runs on the next provider it lists.
FROM ort-fetch AS ort-gpu
ARG ORT_GPU_CORE_PACKAGE=com.github.asus4.onnxruntime@0.4.9
ARG ORT_GPU_CORE_INTEGRITY=sha512-BkzxduSZ9IkeDP6Q8lz2TFU2ie7hSSvS7ZIfzMooExoq0CNzJnuuGaUJ7IsojBgqO4ouD1jXah8OYyJbCN29Fg==
ARG ORT_GPU_CUDA_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
ARG ORT_GPU_CUDA_INTEGRITY=sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==
ARG TARGETARCH
RUN set -eu; \
    [ "${TARGETARCH:-amd64}" = amd64 ] || { echo "the GPU variant is x86-64 only" >&2; exit 1; }; \
    ort-fetch "$ORT_GPU_CORE_PACKAGE" "$ORT_GPU_CORE_INTEGRITY" /out \
      Plugins/Linux/x64/libonnxruntime.so Plugins/Linux/x64/libonnxruntime_providers_shared.so; \
    ort-fetch "$ORT_GPU_CUDA_PACKAGE" "$ORT_GPU_CUDA_INTEGRITY" /out \
      Plugins/Linux/x64/libonnxruntime_providers_cuda.so; \
    mv /out/libonnxruntime.so /out/libonnxruntime.so.1; \
    ln -s libonnxruntime.so.1 /out/libonnxruntime.so

FROM ort-${VARIANT} AS ort

# ---------------------------------------------------------------- CUDA 13
# The CUDA execution provider links libcudart.so.13, libcublas.so.13,
# libcublasLt.so.13 and libcurand.so.10 and loads cuDNN 9, cuFFT (its FFT
# operators) and NVRTC at run time. They come from NVIDIA's CUDA 13 runtime
# image (Ubuntu 24.04, like Kong's); the driver's libcuda.so.1 is mounted by
# the NVIDIA container toolkit when the container gets a GPU. cp -a keeps the soname symlinks
# as symlinks, so nothing is stored twice.
FROM ${CUDA_IMAGE} AS cuda-libs
RUN set -eux; mkdir -p /out; \
    cd /usr/local/cuda/lib64; \
    cp -a libcudart.so.13* libcublas.so.13* libcublasLt.so.13* libcurand.so.10* \
          libcufft.so.* libnvrtc.so.13* libnvrtc-builtins.so.13* /out/; \
    cp -a /usr/lib/x86_64-linux-gnu/libcudnn*.so.9* /out/

# ---------------------------------------------------------------- runtime bases
FROM ${KONG_IMAGE} AS runtime-cpu

# Kong's image is kept as the base for both variants (its entrypoint, user and
# dependencies stay exactly as Kong ships them); the GPU variant adds CUDA 13's
# user-space libraries from the runtime image above.
FROM ${KONG_IMAGE} AS runtime-gpu
USER root
COPY --from=cuda-libs /out/ /usr/local/cuda/lib64/
# ld.so.conf as well as LD_LIBRARY_PATH: nginx clears the environment of its
# workers, so a sidecar the plugin server launches sees no LD_LIBRARY_PATH.
RUN echo /usr/local/cuda/lib64 > /etc/ld.so.conf.d/cuda.conf && ldconfig
# No NVIDIA_VISIBLE_DEVICES here: which GPU a container gets is the runtime's
# call (--gpus, compose's device reservation, the Kubernetes device plugin).
ENV LD_LIBRARY_PATH=/usr/local/lib/onnxruntime:/usr/local/cuda/lib64 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
# Models that only pay on a GPU (deploy/models-gpu: sentiment-fp16, version 2 of the
# example model in float16, deploy/train/fp16.py) join the example repository here,
# so the CPU image never carries them and a CPU node never loads them.
COPY deploy/models-gpu/ /opt/modelgate/deploy/models/

# ---------------------------------------------------------------- modelgate
FROM runtime-${VARIANT} AS app
USER root
ARG KONG_UID
RUN set -eu; \
    uid="$(id -u kong)"; gid="$(id -g kong)"; \
    if [ "$uid" != "$KONG_UID" ] || [ "$gid" != "$KONG_UID" ]; then \
      echo "Kong's user is uid $uid gid $gid, not $KONG_UID: build with --build-arg KONG_UID=$uid and update deploy/k8s" >&2; exit 1; \
    fi

COPY --from=build /out/modelgate /out/modelgate-sidecar /usr/local/bin/
COPY --from=ort /out/ /usr/local/lib/onnxruntime/
# The sidecar's default --ort-lib is "libonnxruntime.so.1", resolved through
# ld.so.cache, so it finds the library even with the environment cleared.
# /var/lib/modelgate/models is where a sidecar pulling from a model registry
# keeps what it pulled (deploy/docker-compose.registry.yml): a new volume
# mounted there takes this owner.
RUN set -eu; \
    echo /usr/local/lib/onnxruntime > /etc/ld.so.conf.d/onnxruntime.conf; \
    ldconfig; \
    install -d -o kong -g kong -m 0750 /run/modelgate; \
    install -d -o kong -g kong -m 0750 /var/lib/modelgate /var/lib/modelgate/models

# /opt/modelgate mirrors the repository's layout, so the root kong.yml's
# relative paths (deploy/models, deploy/keys) resolve from the working
# directory Kong's workers inherit (WORKDIR below). Only the public half of
# the demo JWT key is copied.
COPY deploy/models/ /opt/modelgate/deploy/models/
COPY deploy/keys/demo-jwt-rs256.pub /opt/modelgate/deploy/keys/
COPY kong.yml /opt/modelgate/kong.yml
COPY deploy/kong/kong.yml /opt/modelgate/deploy/kong/kong.yml
RUN set -eu; \
    ln -s deploy/models /opt/modelgate/models; \
    chmod -R a+rX,go-w /opt/modelgate
WORKDIR /opt/modelgate

# Kong reads its settings from KONG_* variables.
#
# Bodies: the largest body is the plugin's limits.max_body_bytes (8 MiB). The
# buffer is not a limit: a body past it goes to a temp file, and Kong hands
# go-pdk that file's path, which go-pdk reads (Kong 3.9.3
# kong/runloop/plugin_servers/rpc/pb_rpc.lua, RawBodyResult). So the buffer
# trades memory per request in flight for a file write and read: 1 MiB keeps
# every ordinary inference body (a sentence, a batch of a few thousand
# floats) in memory, while 8 MiB would let a few hundred large uploads hold
# gigabytes of a Kong container's memory; a body between 1 and 8 MiB costs
# one temp-file write and read, small next to decoding and running it.
#
# Environment: nginx clears its workers' environment, and worker 0 starts the
# plugin server (kong/runloop/plugin_servers/process.lua), which passes its own
# to a sidecar it launches. Only the variables KONG_NGINX_MAIN_ENV names get
# through (kong/templates/nginx.lua renders it as `env PATH; env ORT_LIB; ...;`):
# PATH (the root kong.yml finds modelgate-sidecar on it), ORT_LIB and
# LD_LIBRARY_PATH for the launched sidecar, MODELGATE_MODEL_KEY for its
# encrypted models (key_env), MODELGATE_LOG_LEVEL for the plugin server, and
# MODELGATE_DEMO, which lets the root kong.yml's public DEMO credentials
# through (unset, the plugin refuses them). The MODELGATE_ALLOW_* variables,
# MODELGATE_SIDECAR_PASS_ENV and MODELGATE_SECRET_DIRS (further folders for
# file: secrets, an attach socket, --models, beside /etc/modelgate and the
# working directory) bound what the plugin config may do (README,
# "What the plugin config may do"); MODELGATE_ALLOW_LISTEN=:9542 lets
# deploy/kong/kong.yml serve /metrics on every interface of the container.
# A variable set with `docker run -e` but not named here never arrives.
#
# START_CMD names Kong's prefix: go-pdk listens on <-kong-prefix>/modelgate.socket,
# which must be KONG_PLUGINSERVER_MODELGATE_SOCKET.
ENV KONG_DATABASE=off \
    KONG_DECLARATIVE_CONFIG=/opt/modelgate/deploy/kong/kong.yml \
    KONG_PLUGINS=bundled,modelgate \
    KONG_PLUGINSERVER_NAMES=modelgate \
    KONG_PLUGINSERVER_MODELGATE_SOCKET=/usr/local/kong/modelgate.socket \
    KONG_PLUGINSERVER_MODELGATE_START_CMD="/usr/local/bin/modelgate -kong-prefix /usr/local/kong" \
    KONG_PLUGINSERVER_MODELGATE_QUERY_CMD="/usr/local/bin/modelgate -dump" \
    KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE=1m \
    KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE=8m \
    KONG_PROXY_LISTEN="0.0.0.0:8000 reuseport backlog=16384" \
    KONG_ADMIN_LISTEN=127.0.0.1:8001 \
    KONG_STATUS_LISTEN=0.0.0.0:8100 \
    KONG_PROXY_ACCESS_LOG=/dev/stdout \
    KONG_PROXY_ERROR_LOG=/dev/stderr \
    KONG_ADMIN_ACCESS_LOG=/dev/stdout \
    KONG_ADMIN_ERROR_LOG=/dev/stderr \
    ORT_LIB=/usr/local/lib/onnxruntime/libonnxruntime.so.1 \
    MODELGATE_LOG_LEVEL=info \
    MODELGATE_ALLOW_LISTEN=:9542 \
    KONG_NGINX_MAIN_ENV="PATH; env ORT_LIB; env LD_LIBRARY_PATH; env MODELGATE_MODEL_KEY; env MODELGATE_LOG_LEVEL; env MODELGATE_DEMO; env MODELGATE_ALLOW_LISTEN; env MODELGATE_ALLOW_SIDECAR_COMMANDS; env MODELGATE_ALLOW_SIDECAR_FLAGS; env MODELGATE_ALLOW_REDIS; env MODELGATE_SIDECAR_PASS_ENV; env MODELGATE_SECRET_DIRS"

# ---------------------------------------------------------------- sidecar image
# The same files with the sidecar as the entrypoint, for attach mode (compose,
# Kubernetes). SIGTERM, not Kong's SIGQUIT: a Go program dumps its goroutines
# and dies on SIGQUIT instead of draining.
FROM app AS sidecar
ARG KONG_UID
USER ${KONG_UID}:${KONG_UID}
STOPSIGNAL SIGTERM
EXPOSE 8002
# Liveness, not --ready (deploy/docker-compose.yml says why): the socket only
# appears once the first model load is done.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/modelgate-sidecar", "probe", "--socket", "/run/modelgate/sidecar.sock"]
ENTRYPOINT ["/usr/local/bin/modelgate-sidecar"]
CMD ["--models", "/opt/modelgate/models", "--socket", "/run/modelgate/sidecar.sock", "--metrics-addr", ":8002", "--max-message-bytes", "16777216"]

# ---------------------------------------------------------------- Kong image (default)
FROM app AS kong
ARG KONG_UID
USER ${KONG_UID}:${KONG_UID}
EXPOSE 8000 8100 9542
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=10s --retries=10 CMD ["kong", "health"]
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["kong", "docker-start"]
