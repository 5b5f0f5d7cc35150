"""Tests of the Dockerfile parser, rules and the hadolint comparison."""
