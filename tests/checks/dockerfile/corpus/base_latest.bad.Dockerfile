# expect: TG-DF-001 TG-DF-002
# covers: TG-DF-002
FROM alpine:latest
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
