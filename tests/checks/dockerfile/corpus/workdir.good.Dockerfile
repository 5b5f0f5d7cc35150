# expect: none
# covers: TG-DF-023 TG-DF-028
FROM alpine:3.19@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
WORKDIR /app
ENV DIR=/srv
WORKDIR $DIR
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
