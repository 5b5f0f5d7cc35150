# syntax=docker/dockerfile:1
# expect: TG-DF-010 TG-DF-011 TG-DF-013 TG-DF-024
# covers: TG-DF-010 TG-DF-011 TG-DF-013 TG-DF-024
FROM debian:bookworm-slim@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
RUN <<EOF
apt-get update
apt-get install curl
EOF
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
