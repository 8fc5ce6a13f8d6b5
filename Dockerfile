# Builder-Trainer FS in a container: builds btfs with meson and serves the
# memory at /mnt/bt. FUSE needs the host's /dev/fuse and CAP_SYS_ADMIN, and
# bubblewrap needs an unmasked /proc (systempaths=unconfined):
#   docker run --device /dev/fuse --cap-add SYS_ADMIN \
#       --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
#       --add-host host.docker.internal:host-gateway -v btfs-data:/data btfs
# docker-compose.yml does all of that and propagates the mount to the host;
# scripts/test-container checks it with podman.

FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        meson ninja-build pkg-config gcc libc6-dev \
        libfuse3-dev liblmdb-dev libcjson-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY util/ util/
COPY task/ task/
COPY store/ store/
COPY fs/ fs/
COPY agents/ agents/
COPY cmd/ cmd/
COPY man/ man/
COPY completion/ completion/
COPY scripts/ scripts/
RUN meson setup /build --buildtype=release -Dtests=disabled -Dbench=false \
        -Dman=disabled \
 && ninja -C /build \
 && DESTDIR=/install meson install -C /build --no-rebuild

FROM debian:12-slim
# Runtime libraries only; bubblewrap isolates the code the Builder runs,
# python3 and gcc are what that code is run with.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        fuse3 liblmdb0 libcjson1 libcurl4 ca-certificates \
        bubblewrap python3 python3-pyflakes gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /install/usr/local/bin/btfs /install/usr/local/bin/bt /usr/local/bin/
RUN mkdir -p /data /mnt/bt && chmod 700 /data
VOLUME /data
ENV BT_DATA=/data \
    BT_MOUNT=/mnt/bt \
    BT_LLM_URL=http://host.docker.internal:1234/v1
# allow_other lets users other than the container's root (on the host, through
# the propagated mount) read the tree.
CMD ["btfs", "-f", "-o", "allow_other", "/mnt/bt"]
