# set: store unconditionally (protocol.txt, Storage commands;
# docs/COMPAT.md#keys-and-numbers, docs/COMPAT.md#noreply)
> set set_a 0 0 5
> hello
< STORED
> get set_a
< VALUE set_a 0 5
< hello
< END
# overwrite, new flags and length
> set set_a 42 0 3
> bye
< STORED
> get set_a
< VALUE set_a 42 3
< bye
< END
# zero-byte value
> set set_empty 0 0 0
>
< STORED
> get set_empty
< VALUE set_empty 0 0
<
< END
# values are opaque: CR, LF, CRLF, NUL and high bytes are data
> set set_bin 7 0 10
>> a\r\nb\0c\nd\r\xff\r\n
< STORED
> get set_bin
< VALUE set_bin 7 10
<< a\r\nb\0c\nd\r\xff\r\n
< END
# a value that looks like commands
> set set_cmds 0 0 15
> get x\r\ndelete y
< STORED
> get set_cmds
< VALUE set_cmds 0 15
< get x\r\ndelete y
< END
# flags are unsigned 32 bit; bigger values are truncated modulo 2^32
> set set_f 4294967295 0 1
> a
< STORED
> get set_f
< VALUE set_f 4294967295 1
< a
< END
> set set_f 4294967296 0 1
> a
< STORED
> get set_f
< VALUE set_f 0 1
< a
< END
> set set_f 4294967297 0 1
> a
< STORED
> get set_f
< VALUE set_f 1 1
< a
< END
# leading + is accepted in numbers
> set set_f +5 +0 +1
> a
< STORED
> get set_f
< VALUE set_f 5 1
< a
< END
# a 6th token that is not noreply is ignored
> set set_g 0 0 3 garbage
> abc
< STORED
> get set_g
< VALUE set_g 0 3
< abc
< END
# noreply: nothing is sent back, the value is stored
> set set_nr 3 0 2 noreply
> nr
> get set_nr
< VALUE set_nr 3 2
< nr
< END
# extra spaces between tokens collapse
>   set   set_sp   1   0   2\x20\x20
> sp
< STORED
> get set_sp
< VALUE set_sp 1 2
< sp
< END
# key of 250 bytes is fine
> set kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk250 0 0 1
> x
< STORED
> get kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk250
< VALUE kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk250 0 1
< x
< END
# keys are raw bytes: TAB, control bytes and bytes >= 0x80 are key bytes
> set set_\t\x01\xe9 0 0 1
> k
< STORED
> get set_\t\x01\xe9
< VALUE set_\t\x01\xe9 0 1
< k
< END
> get set_\t\x01
< END
