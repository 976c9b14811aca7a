# mcpgate in a container: built from Debian 12 packages (no downloads at build time), run as a non-root user.
#   docker build -t mcpgate .
#   docker run --rm -p 8080:8080 -p 127.0.0.1:9090:9090 \
#     -v "$PWD/mcpgate.toml:/etc/mcpgate/mcpgate.toml:ro" mcpgate
# The image listens on 0.0.0.0 inside the container (MCPGATE_SERVER_LISTEN_ADDRESS, MCPGATE_ADMIN_LISTEN_ADDRESS
# below override the file); publish the admin port only where /metrics may be read. SQLite stores go under
# /var/lib/mcpgate (a volume); master keys come from MCPGATE_STORE_KEYS or a mounted key file, never the image.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ninja-build \
      libssl-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libtomlplusplus-dev libboost1.81-dev \
      libsqlite3-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include include
COPY src src
COPY examples examples
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPGATE_BUILD_TESTS=OFF \
 && cmake --build build --target mcpgate mcpgate_example_mcp_server \
 && strip build/src/cli/mcpgate build/examples/mcp-server/mcpgate_example_mcp_server

FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libtomlplusplus3 libssl3 libsqlite3-0 libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/mcpgate --shell /usr/sbin/nologin mcpgate \
 && install -d -o mcpgate -g mcpgate -m 0700 /var/lib/mcpgate \
 && install -d -m 0755 /etc/mcpgate
COPY --from=build /src/build/src/cli/mcpgate /usr/local/bin/mcpgate
COPY --from=build /src/build/examples/mcp-server/mcpgate_example_mcp_server /usr/local/bin/
COPY config/mcpgate.example.toml /usr/share/doc/mcpgate/mcpgate.example.toml
ENV MCPGATE_SERVER_LISTEN_ADDRESS=0.0.0.0 \
    MCPGATE_ADMIN_LISTEN_ADDRESS=0.0.0.0
USER mcpgate
WORKDIR /var/lib/mcpgate
VOLUME ["/var/lib/mcpgate"]
EXPOSE 8080 9090
ENTRYPOINT ["mcpgate"]
CMD ["serve", "--config", "/etc/mcpgate/mcpgate.toml"]
