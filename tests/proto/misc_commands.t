# refresh_certs without -Z, watch errors, debug-only commands
# (protocol.txt, Watchers and Security restrictions; memcached -h)
> refresh_certs
< Error TLS not enabled
> refresh_certs noreply
< Error TLS not enabled
> refresh_certs a b
< Error TLS not enabled
> watch bogus
< ERROR
> misbehave
< ERROR
> debugtime
< ERROR
