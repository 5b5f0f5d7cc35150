# expect: none
# covers: TG-DF-016 TG-DF-001
# tidegate:ignore=TG-DF-001
FROM alpine:3.19
# tidegate:ignore=TG-DF-016
# hadolint ignore=DL3018
RUN apk add --no-cache curl
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
