# Pipelining (docs/COMPAT.md#lines-and-tokens): all of this goes out in one
# write; the replies come back complete and in request order.
> set pl_0 0 0 2
> v0
> get pl_0 pl_nope
> incr pl_0 1
> bogus
> delete pl_0
> delete pl_0
> set pl_0 0 0 1 noreply
> n
> touch pl_0 0
> version
> set pl_1 1 0 2
> v1
> get pl_1 pl_nope
> set pl_2 2 0 2
> v2
> get pl_2 pl_nope
> set pl_3 3 0 2
> v3
> get pl_3 pl_nope
> set pl_4 4 0 2
> v4
> get pl_4 pl_nope
> set pl_5 5 0 2
> v5
> get pl_5 pl_nope
> incr pl_5 1
> bogus
> delete pl_5
> delete pl_5
> set pl_5 0 0 1 noreply
> n
> touch pl_5 0
> version
> set pl_6 6 0 2
> v6
> get pl_6 pl_nope
> set pl_7 7 0 2
> v7
> get pl_7 pl_nope
> set pl_8 8 0 2
> v8
> get pl_8 pl_nope
> set pl_9 9 0 2
> v9
> get pl_9 pl_nope
> set pl_10 10 0 3
> v10
> get pl_10 pl_nope
> incr pl_10 1
> bogus
> delete pl_10
> delete pl_10
> set pl_10 0 0 1 noreply
> n
> touch pl_10 0
> version
> set pl_11 11 0 3
> v11
> get pl_11 pl_nope
> set pl_12 12 0 3
> v12
> get pl_12 pl_nope
> set pl_13 13 0 3
> v13
> get pl_13 pl_nope
> set pl_14 14 0 3
> v14
> get pl_14 pl_nope
> set pl_15 15 0 3
> v15
> get pl_15 pl_nope
> incr pl_15 1
> bogus
> delete pl_15
> delete pl_15
> set pl_15 0 0 1 noreply
> n
> touch pl_15 0
> version
> set pl_16 16 0 3
> v16
> get pl_16 pl_nope
> set pl_17 17 0 3
> v17
> get pl_17 pl_nope
> set pl_18 18 0 3
> v18
> get pl_18 pl_nope
> set pl_19 19 0 3
> v19
> get pl_19 pl_nope
> set pl_20 20 0 3
> v20
> get pl_20 pl_nope
> incr pl_20 1
> bogus
> delete pl_20
> delete pl_20
> set pl_20 0 0 1 noreply
> n
> touch pl_20 0
> version
> set pl_21 21 0 3
> v21
> get pl_21 pl_nope
> set pl_22 22 0 3
> v22
> get pl_22 pl_nope
> set pl_23 23 0 3
> v23
> get pl_23 pl_nope
> set pl_24 24 0 3
> v24
> get pl_24 pl_nope
> set pl_25 25 0 3
> v25
> get pl_25 pl_nope
> incr pl_25 1
> bogus
> delete pl_25
> delete pl_25
> set pl_25 0 0 1 noreply
> n
> touch pl_25 0
> version
> set pl_26 26 0 3
> v26
> get pl_26 pl_nope
> set pl_27 27 0 3
> v27
> get pl_27 pl_nope
> set pl_28 28 0 3
> v28
> get pl_28 pl_nope
> set pl_29 29 0 3
> v29
> get pl_29 pl_nope
> set pl_30 30 0 3
> v30
> get pl_30 pl_nope
> incr pl_30 1
> bogus
> delete pl_30
> delete pl_30
> set pl_30 0 0 1 noreply
> n
> touch pl_30 0
> version
> set pl_31 31 0 3
> v31
> get pl_31 pl_nope
> set pl_32 32 0 3
> v32
> get pl_32 pl_nope
> set pl_33 33 0 3
> v33
> get pl_33 pl_nope
> set pl_34 34 0 3
> v34
> get pl_34 pl_nope
> set pl_35 35 0 3
> v35
> get pl_35 pl_nope
> incr pl_35 1
> bogus
> delete pl_35
> delete pl_35
> set pl_35 0 0 1 noreply
> n
> touch pl_35 0
> version
> set pl_36 36 0 3
> v36
> get pl_36 pl_nope
> set pl_37 37 0 3
> v37
> get pl_37 pl_nope
> set pl_38 38 0 3
> v38
> get pl_38 pl_nope
> set pl_39 39 0 3
> v39
> get pl_39 pl_nope
< STORED
< VALUE pl_0 0 2
< v0
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_1 1 2
< v1
< END
< STORED
< VALUE pl_2 2 2
< v2
< END
< STORED
< VALUE pl_3 3 2
< v3
< END
< STORED
< VALUE pl_4 4 2
< v4
< END
< STORED
< VALUE pl_5 5 2
< v5
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_6 6 2
< v6
< END
< STORED
< VALUE pl_7 7 2
< v7
< END
< STORED
< VALUE pl_8 8 2
< v8
< END
< STORED
< VALUE pl_9 9 2
< v9
< END
< STORED
< VALUE pl_10 10 3
< v10
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_11 11 3
< v11
< END
< STORED
< VALUE pl_12 12 3
< v12
< END
< STORED
< VALUE pl_13 13 3
< v13
< END
< STORED
< VALUE pl_14 14 3
< v14
< END
< STORED
< VALUE pl_15 15 3
< v15
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_16 16 3
< v16
< END
< STORED
< VALUE pl_17 17 3
< v17
< END
< STORED
< VALUE pl_18 18 3
< v18
< END
< STORED
< VALUE pl_19 19 3
< v19
< END
< STORED
< VALUE pl_20 20 3
< v20
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_21 21 3
< v21
< END
< STORED
< VALUE pl_22 22 3
< v22
< END
< STORED
< VALUE pl_23 23 3
< v23
< END
< STORED
< VALUE pl_24 24 3
< v24
< END
< STORED
< VALUE pl_25 25 3
< v25
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_26 26 3
< v26
< END
< STORED
< VALUE pl_27 27 3
< v27
< END
< STORED
< VALUE pl_28 28 3
< v28
< END
< STORED
< VALUE pl_29 29 3
< v29
< END
< STORED
< VALUE pl_30 30 3
< v30
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_31 31 3
< v31
< END
< STORED
< VALUE pl_32 32 3
< v32
< END
< STORED
< VALUE pl_33 33 3
< v33
< END
< STORED
< VALUE pl_34 34 3
< v34
< END
< STORED
< VALUE pl_35 35 3
< v35
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE pl_36 36 3
< v36
< END
< STORED
< VALUE pl_37 37 3
< v37
< END
< STORED
< VALUE pl_38 38 3
< v38
< END
< STORED
< VALUE pl_39 39 3
< v39
< END
