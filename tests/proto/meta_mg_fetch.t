!private
# mg h, l, u and me fetch= (protocol.txt, Meta Get and Meta Debug;
# docs/COMPAT.md#meta-get-mg)
> ms mfe_a 3
> abc
< HD
> me mfe_a
<~ ME mfe_a exp=-1 la=[01] cas=[1-9][0-9]* fetch=no cls=1 size=67
# u: no fetch mark
> mg mfe_a u h
< HD h0
> mg mfe_a u h v
< VA 3 h0
< abc
> me mfe_a
<~ ME mfe_a exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=no cls=1 size=67
# me itself does not mark it either
> mg mfe_a h
< HD h0
> mg mfe_a h
< HD h1
> me mfe_a
<~ ME mfe_a exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=67
# a classic get marks it too; a new store clears the mark
> ms mfe_a 3
> abc
< HD
> get mfe_a
< VALUE mfe_a 0 3
< abc
< END
> mg mfe_a h
< HD h1
> ms mfe_a 3
> abc
< HD
> mg mfe_a h l
<~ HD h0 l[01]
