# expect: none
# covers: TG-DF-027 TG-DF-029 TG-DF-026
FROM alpine:3.19@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
LABEL org.opencontainers.image.authors="ops@example.com" version="1.0"
ENTRYPOINT ["/app/run"]
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
