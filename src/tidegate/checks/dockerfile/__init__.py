"""Dockerfile lint: a faithful parser (`parser`), shell-command splitting for RUN (`shell`), rules as data
(`rules`) and the check that evaluates them (`check`).

    from tidegate.checks.dockerfile.parser import parse_dockerfile
    from tidegate.checks.dockerfile.check import DockerfileCheck
    findings = list(DockerfileCheck().evaluate(parse_dockerfile(text, "Dockerfile")))
"""
