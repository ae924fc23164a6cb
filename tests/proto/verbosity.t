!private
# verbosity (docs/COMPAT.md#other-commands); a private server because it
# changes the server-wide log level
> verbosity 1
< OK
> verbosity 0
< OK
# clamped (level 5 is accepted), an extra token is ignored
> verbosity 5
< OK
> verbosity 0 0
< OK
> verbosity 1 noreply
> verbosity abc
< CLIENT_ERROR bad command line format
> verbosity -1
< CLIENT_ERROR bad command line format
> verbosity abc noreply
> verbosity
< ERROR
> verbosity 1 2 3
< ERROR
> verbosity 0
< OK
