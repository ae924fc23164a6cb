# noreply (docs/COMPAT.md#noreply): the last token "noreply" hides every
# reply of that command, errors included; a token-count ERROR is never
# hidden
> set nr_a 0 0 1 noreply
> 1
> add nr_a 0 0 1 noreply
> 2
> replace nr_a 0 0 1 noreply
> 3
> append nr_a 0 0 1 noreply
> 4
> prepend nr_a 0 0 1 noreply
> 5
> incr nr_a 1 noreply
> decr nr_a 1 noreply
> touch nr_a 0 noreply
> delete nr_nope noreply
> get nr_a
< VALUE nr_a 0 3
< 534
< END
# hidden client errors
> incr nr_a noreply
> touch nr_a noreply
> verbosity noreply
> incr nr_a abc noreply
> set nr_b 0 0 abc noreply
> version
< VERSION 1.6.18
# ... unless the token count is wrong
> set nr_b 0 noreply
< ERROR
> cas nr_b 0 0 noreply
< ERROR
> incr nr_a 1 2 noreply
< ERROR
> touch noreply
< ERROR
# noreply lasts for one command only
> set nr_c 0 0 1 noreply
> c
> set nr_c 0 0 1
> d
< STORED
