!flags -A
# shutdown with -A and a bad mode (the exiting forms are plain tests)
> shutdown foo
< CLIENT_ERROR invalid shutdown mode
> version
< VERSION 1.6.18
