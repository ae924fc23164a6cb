# shutdown without -A (docs/COMPAT.md#other-commands); note the colon
> shutdown
< ERROR: shutdown not enabled
> shutdown graceful
< ERROR: shutdown not enabled
> shutdown foo
< ERROR: shutdown not enabled
> version
< VERSION 1.6.18
