# touch (protocol.txt, Touch)
> set to_a 2 0 1
> a
< STORED
> touch to_a 100
< TOUCHED
> touch to_nope 100
< NOT_FOUND
> get to_a
< VALUE to_a 2 1
< a
< END
> touch to_a 0 noreply
> touch to_nope 0 noreply
> touch to_a abc
< CLIENT_ERROR invalid exptime argument
> touch to_a 1x noreply
> touch to_a
< ERROR
> touch
< ERROR
> touch to_a 1 2 3
< ERROR
> touch kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 1
< CLIENT_ERROR bad command line format
# a negative exptime expires the item
> touch to_a -1
< TOUCHED
> get to_a
< END
> touch to_a 0
< NOT_FOUND
