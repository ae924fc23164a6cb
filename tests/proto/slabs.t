!private
# slabs (protocol.txt, Slabs Reassign, Slabs Automove) on an empty cache
> slabs reassign 1 1
< SAME src and dst class are identical
> slabs reassign 99 1
< BADCLASS invalid src or dst class id
> slabs reassign 1 99
< BADCLASS invalid src or dst class id
> slabs reassign -1 1
< BADCLASS invalid src or dst class id
> slabs reassign 1 2
< NOSPARE source class has no spare pages
> slabs reassign 0 1
< NOSPARE source class has no spare pages
> slabs reassign abc 1
< CLIENT_ERROR bad command line format
> slabs reassign 1 x
< CLIENT_ERROR bad command line format
> slabs reassign 1
< ERROR
> slabs reassign 1 2 3
< ERROR
> slabs automove 0
< OK
> slabs automove 2
< OK
> slabs automove 1
< OK
> slabs automove 3
< ERROR
> slabs automove abc
< CLIENT_ERROR bad command line format
> slabs automove 1 noreply
> slabs automove abc noreply
> slabs automove ratio 0.5
< OK
> slabs automove ratio
< ERROR
> slabs automove ratio abc
< ERROR
> slabs automove ratio 0.8
< OK
> slabs foo
< ERROR
> slabs
< ERROR
