!flags -B ascii
# -B ascii (docs/COMPAT.md#protocol-negotiation): a first byte 0x80 does not
# switch to the binary protocol; the bytes are parsed as a text line
>> \x80\x0a
< ERROR
> set pa_a 0 0 1
> a
< STORED
> get pa_a
< VALUE pa_a 0 1
< a
< END
