# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG VERSION=1.36

FROM ${BASE}:${VERSION} AS Builder
ARG VERSION
ENV OUT=/out \
    NAME="wharf demo"
# a comment between instructions
RUN mkdir -p $OUT \
  # a comment inside a continued RUN
  && echo "$NAME $VERSION" > $OUT/version

FROM scratch AS assets
COPY --chmod=0644 <<EOF /etc/motd
Welcome to ${NAME:-wharf}
EOF

FROM builder AS unused
RUN false

FROM busybox
COPY --from=builder --chown=1000:1000 /out/version /version
COPY --from=assets /etc/motd /etc/motd
COPY --from=1 /etc/motd /etc/motd2
COPY --from=alpine:3.19 /etc/os-release /alpine-release
LABEL org.opencontainers.image.title="wharf demo" version=$VERSION
EXPOSE 8080/tcp 80
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
CMD ["cat", "/version"]
