# quit (protocol.txt, Other commands): replies to earlier pipelined commands
# are flushed, then the connection is closed; later commands are not run
> set quit_a 0 0 1
> a
> get quit_a
> quit
> set quit_b 0 0 1
> b
< STORED
< VALUE quit_a 0 1
< a
< END
<closed
!connect
> get quit_b
< END
> quit
<closed
!connect
# extra tokens are ignored
> quit now
<closed
