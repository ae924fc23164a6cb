!flags -o no_slab_reassign
> slabs reassign 1 2
< CLIENT_ERROR slab reassignment disabled
> slabs reassign abc 2
< CLIENT_ERROR slab reassignment disabled
