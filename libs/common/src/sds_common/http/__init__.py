"""What every HTTP entry point shares, so that each one answers alike.

- :mod:`.identity`: the one identity check (signed proxy headers, each at most once; nonce replay
  protection; API keys as scoped identities handed on by the gateway; rate limits;
  ``AuthenticationFailed`` events), with its stores in :mod:`.guard`, :mod:`.nonces`,
  :mod:`.rate_limits` and its settings in :mod:`.settings`.
- :mod:`.problems`: RFC 9457 problem JSON for every error, validation errors and database outages
  (:mod:`.outages`, 503 with ``Retry-After``) included.
- :mod:`.header_limits`: too many or too large request headers answer 431.

``sds_common.runtime.app.create_service_app`` installs the problem handlers and the header
limits on every service app; each service's routes depend on its ``IdentityCheck``.
"""
