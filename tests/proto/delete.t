# delete (protocol.txt, Deletion; docs/COMPAT.md#delete-incr-decr-touch)
> set del_a 0 0 1
> a
< STORED
> delete del_a
< DELETED
> delete del_a
< NOT_FOUND
> get del_a
< END
# the legacy hold time 0
> set del_a 0 0 1
> a
< STORED
> delete del_a 0
< DELETED
> delete del_a 0
< NOT_FOUND
# noreply, with and without the 0
> set del_a 0 0 1
> a
< STORED
> delete del_a noreply
> get del_a
< END
> set del_a 0 0 1
> a
< STORED
> delete del_a 0 noreply
> delete del_a noreply
> get del_a
< END
# anything else as 3rd/4th token: usage error (two spaces after the period)
> delete del_a 1
< CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
> delete del_a x
< CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
> delete del_a 0 0
< CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
> delete del_a 0 x
< CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
> delete del_a noreply 0
< CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
# ... hidden by a trailing noreply
> delete del_a 1 noreply
# wrong token counts
> delete
< ERROR
> delete a b c d
< ERROR
# long key
> delete kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
> delete kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk noreply
# "noreply" alone is a key
> delete noreply
< NOT_FOUND
