# Line framing and tokenizing (docs/COMPAT.md#lines-and-tokens)
> set tk_a 0 0 1
> a
< STORED
# unknown and mis-cased commands
> GET tk_a
< ERROR
> Get tk_a
< ERROR
> VERSION
< ERROR
> bogus
< ERROR
> xy tk_a
< ERROR
# empty line, spaces only, one-character command
>
< ERROR
>    \x20
< ERROR
>> \n
< ERROR
> x
< ERROR
# only space separates tokens: TAB is part of a token
> get\ttk_a
< ERROR
> get tk_a\tb
< END
# a bare \n ends a line; only one \r before it is dropped
>> get tk_a\n
< VALUE tk_a 0 1
< a
< END
>> version\r\r\n
< ERROR
>> get tk_a\r\r\n
< END
# a binary-protocol byte on a text connection is just text
>> \x80\x01\r\n
< ERROR
# a NUL truncates the line (the rest up to \n is discarded)
>> set tk_b\0junk 0 0 1\r\n
< ERROR
>> get tk_a\0 tk_b\r\n
< VALUE tk_a 0 1
< a
< END
>> \0\r\n
< ERROR
>> set tk_c 0 0 1\0 noreply\r\nc\r\n
< STORED
>> set tk_d 0 0 1\r\nd\r\nget tk_d\0\r\n
< STORED
< VALUE tk_d 0 1
< d
< END
# more than 24 tokens: every command but the get family answers ERROR
> set a b c d e f g h i j k l m n o p q r s t u v w x y z
< ERROR
> delete a b c d e f g h i j k l m n o p q r s t u v w x y z
< ERROR
> incr a b c d e f g h i j k l m n o p q r s t u v w x y z
< ERROR
> flush_all a b c d e f g h i j k l m n o p q r s t u v w x y z
< ERROR
> touch a b c d e f g h i j k l m n o p q r s t u v w x y z
< ERROR
> version a b c d e f g h i j k l m n o p q r s t u v w x y z
< VERSION 1.6.18
