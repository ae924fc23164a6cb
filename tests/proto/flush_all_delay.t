!private
!mark slow
# flush_all <delay> (docs/COMPAT.md#flushing): at now+delay (minus one second)
# every item last stored before that moment dies, including items stored
# after the command. A private server: a pending flush must not reach
# other transcripts.
# A later flush_all replaces a pending deadline; until then items live.
> set fd_old 0 0 1
> o
< STORED
> flush_all 100
< OK
> get fd_old
< VALUE fd_old 0 1
< o
< END
> flush_all 0
< OK
> get fd_old
< END
# the delayed flush also kills items stored after the command
> set fd_before 0 0 1
> b
< STORED
> flush_all 2
< OK
> set fd_after 0 0 1
> a
< STORED
!sleep 3
> get fd_before fd_after
< END
# items stored after the deadline live
> set fd_later 0 0 1
> l
< STORED
> get fd_later
< VALUE fd_later 0 1
< l
< END
