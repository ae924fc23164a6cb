# version (protocol.txt, Other commands): extra tokens are ignored
> version
< VERSION 1.6.18
> version extra tokens
< VERSION 1.6.18
>> version\n
< VERSION 1.6.18
