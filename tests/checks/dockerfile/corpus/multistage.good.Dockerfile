# expect: none
# covers: TG-DF-019 TG-DF-020
FROM golang:1.22@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9 AS build
WORKDIR /src
COPY . .
RUN ["go", "build", "-o", "/app", "."]

FROM gcr.io/distroless/static-debian12:nonroot@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
COPY --from=build /app /app
HEALTHCHECK CMD ["/app", "health"]
CMD ["/app"]
