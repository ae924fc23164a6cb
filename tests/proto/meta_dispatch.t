# Meta command dispatch and framing (protocol.txt, Meta Commands, Meta No-Op;
# docs/COMPAT.md#meta-dispatch-and-flags)
# mn: always MN, extra tokens ignored
> mn
< MN
> mn extra tokens are ignored
< MN
> mn\x20
< MN
>> mn\n
< MN
# missing key
> mg
< ERROR
> ms
< ERROR
> md
< ERROR
> ma
< ERROR
> me
< CLIENT_ERROR bad command line format
> mg\x20
< ERROR
# ms with a key but no datalen
> ms mdp_a
< CLIENT_ERROR bad command line format
# other two-byte m? commands, longer ones, case matters
> mx mdp_a
< ERROR
> mz
< ERROR
> mgx mdp_a
< ERROR
> mnx
< ERROR
> msx mdp_a 1
< ERROR
> m mdp_a
< ERROR
> MG mdp_a
< ERROR
> Mn
< ERROR
# the command still works after all that
> ms mdp_a 3
> abc
< HD
# spaces collapse, bare LF, trailing spaces
>   mg    mdp_a   s   v\x20\x20
< VA 3 s3
< abc
>> mg mdp_a s\n
< HD s3
# TAB is a normal byte: part of the key
> mg mdp_a\ts v
< EN
# a NUL truncates the line
> mg mdp_a\0 v
< HD
> mg mdp_a s\0v
< HD s3
# a CR in the middle of a flag token is just an argument byte
> mg mdp_a s\rv
< HD s3
# mn between other replies keeps order
> mg mdp_a s
> mn
> mg mdp_nope
> mn
< HD s3
< MN
< EN
< MN
