# expect: TG-DF-001
# covers: TG-DF-001
FROM alpine:3.19
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
