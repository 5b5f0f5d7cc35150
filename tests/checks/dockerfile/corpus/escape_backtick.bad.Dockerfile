# escape=`
# expect: TG-DF-013
# covers: TG-DF-013
FROM debian:bookworm-slim@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
RUN apt-get update `
    # a comment inside the continuation
    && apt-get install -y --no-install-recommends curl `
    && rm -rf /var/lib/apt/lists/*
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
