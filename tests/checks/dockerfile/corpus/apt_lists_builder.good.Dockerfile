# expect: none
# covers: TG-DF-011 TG-DF-019
FROM debian:bookworm-slim@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9 AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3
RUN ["gcc", "-o", "/app", "/src/app.c"]

FROM gcr.io/distroless/base-debian12:nonroot@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
COPY --from=build /app /app
HEALTHCHECK CMD ["/app", "--health"]
CMD ["/app"]
