# expect: TG-DF-018
# covers: TG-DF-018
FROM python:3.12-slim@sha256:5b0d2fb1f0e8a4c6b7d3e9f1a2c4b6d8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9
RUN pip install flask==3.0.3
USER 10001
HEALTHCHECK CMD ["/app/healthcheck"]
CMD ["/app/run"]
