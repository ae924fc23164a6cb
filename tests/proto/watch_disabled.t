!flags -W
> watch
< CLIENT_ERROR watch commands not allowed
> watch fetchers
< CLIENT_ERROR watch commands not allowed
