"""One zero-trust policy, evaluated the same way at every door (CI check, admission webhook, registry gate).

    policy = load_policy(Path("policy.yaml"))
    verdict = assess("registry/app:1", policy)      # resolve once → scan/verify what the policy needs → rules
    verdict.allowed, [r.message for r in verdict.failed]
"""
