# gat / gats: get and touch (protocol.txt, Get And Touch;
# docs/COMPAT.md#retrieval-commands)
> set gat_a 3 0 1
> a
< STORED
> set gat_b 0 0 2
> bb
< STORED
> gat 100 gat_a nope gat_b gat_a
< VALUE gat_a 3 1
< a
< VALUE gat_b 0 2
< bb
< VALUE gat_a 3 1
< a
< END
> gats 100 gat_a
<~ VALUE gat_a 3 1 [1-9][0-9]*
< a
< END
# no key: just END
> gat 100
< END
> gats 0
< END
# no exptime either
> gat
< ERROR
> gats
< ERROR
# bad exptime
> gat abc gat_a
< CLIENT_ERROR invalid exptime argument
> gats 1x gat_a
< CLIENT_ERROR invalid exptime argument
> gat abc
< CLIENT_ERROR invalid exptime argument
# a long key
> gat 0 gat_a kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
# a negative exptime returns the item this time and expires it
> gat -1 gat_b
< VALUE gat_b 0 2
< bb
< END
> get gat_b
< END
> gat 0 gat_b
< END
# exptime 0: never expires
> gat 0 gat_a
< VALUE gat_a 3 1
< a
< END
> get gat_a
< VALUE gat_a 3 1
< a
< END
