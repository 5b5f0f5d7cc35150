# expect: TG-DF-017
# covers: TG-DF-017
FROM alpine:3.19@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
RUN apk add curl=8.5.0-r0
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
