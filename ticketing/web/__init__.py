"""HTTP plumbing every web adapter shares: sign-in, request guards, security headers, 503s.

Adapters in their own right: they may use the domain, never the other way round.
"""
